using Understudy.Core.Posix;
using Xunit;
using static Understudy.Core.Tests.Posix.TempTree;

namespace Understudy.Core.Tests.Posix;

/// <summary>The guard used when openat2 is missing (old kernel, seccomp) must refuse the same
/// symlinks openat2 refuses.</summary>
public sealed class ComponentwiseResolveTests
{
    [Fact]
    public unsafe void Componentwise_RefusesSymlinkAnywhere_OpensRealDirectories()
    {
        using var outside = new TempTree();
        using var t = new TempTree();
        outside.Tree.EnsureDirectory(P("dir"), 0x1ED);
        t.Tree.EnsureDirectory(P("d/e"), 0x1ED);
        t.Tree.Symlink(P("a"), B(outside.Path));
        t.Tree.Symlink(P("d/link"), B("e"));
        WriteFile(t.Tree, P("d/file"), B("x"));

        int raw;
        fixed (byte* p = Sys.Z(B(t.Path)))
            raw = Libc.open(p, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
        using var root = new SafeFd(raw);
        int flags = Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_CLOEXEC;

        Assert.Equal(Libc.ELOOP, Open(root, "a/dir", flags));
        Assert.Equal(Libc.ELOOP, Open(root, "a", flags));
        Assert.Equal(Libc.ELOOP, Open(root, "d/link", flags));
        Assert.Equal(Libc.ENOTDIR, Open(root, "d/file", flags));
        Assert.Equal(Libc.ENOENT, Open(root, "d/missing/x", flags));
        Assert.Equal(0, Open(root, "d/e", flags));
        Assert.Equal(0, Open(root, "d", flags));
    }

    private static int Open(SafeFd root, string path, int flags)
    {
        int e = Sys.TryOpenComponentwise(root, Sys.Z(B(path)), flags, out var fd);
        fd.Dispose();
        return e;
    }
}
