using System.Text;
using Understudy.Core.Paths;
using Understudy.Core.Posix;

namespace Understudy.Agent.Tests.Mirror;

/// <summary>Builds a source tree with every name and metadata case the mirror must preserve.</summary>
internal static class HostileTree
{
    public static readonly byte[] InvalidUtf8Name = [(byte)'b', (byte)'a', (byte)'d', 0xff, 0xfe, (byte)'.', (byte)'b', (byte)'i', (byte)'n'];

    public static void Build(string root)
    {
        using var t = FsTree.Open(root, create: true);
        long mtime = 1_600_000_000_123_456_789;
        t.EnsureDirectory(RelPath.Parse("empty dir"), 0x1ED);
        t.EnsureDirectory(RelPath.Parse("deep/a/b/c"), 0x1C0);
        Write(t, "plain.txt", Encoding.UTF8.GetBytes("hello world\n"), 0x1A4, mtime);
        Write(t, "with space and\nnewline", Encoding.UTF8.GetBytes("odd name"), 0x180, mtime);
        Write(t, RelPath.Parse(InvalidUtf8Name), [1, 2, 3], 0x1A4, mtime);
        Write(t, new string('n', 255), Encoding.UTF8.GetBytes("long name"), 0x1A4, mtime);
        Write(t, "deep/a/b/c/leaf.dat", RandomBytes(700_000, 1), 0x1ED, mtime);
        Write(t, "zero", [], 0x1A4, mtime);
        // A sparse file: 8 MiB with data only at the start and the end.
        using (var tmp = t.CreateTemp(RelPath.Parse("sparse.img")))
        {
            tmp.SetLength(8 << 20);
            tmp.Write(RandomBytes(4096, 2), 0);
            tmp.Write(RandomBytes(4096, 3), (8 << 20) - 4096);
            tmp.SetMetadata(0x1A4, null, null, mtime, [new Xattr(Encoding.ASCII.GetBytes("user.kind"), Encoding.ASCII.GetBytes("disk image"))]);
            tmp.Commit();
        }
        t.Symlink(RelPath.Parse("link-to-plain"), Encoding.UTF8.GetBytes("plain.txt"));
        t.Symlink(RelPath.Parse("dangling"), Encoding.UTF8.GetBytes("/nonexistent/elsewhere"));
        t.HardLink(RelPath.Parse("plain.txt"), RelPath.Parse("hardlink-to-plain"));
    }

    public static void Write(FsTree t, string path, byte[] data, uint mode, long mtime) => Write(t, RelPath.Parse(path), data, mode, mtime);

    public static void Write(FsTree t, RelPath path, byte[] data, uint mode, long mtime)
    {
        using var tmp = t.CreateTemp(path);
        tmp.Write(data, 0);
        tmp.SetMetadata(mode, null, null, mtime, null);
        tmp.Commit();
    }

    public static byte[] RandomBytes(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }
}
