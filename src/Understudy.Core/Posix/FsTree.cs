using System.Text;
using Understudy.Core.Paths;

namespace Understudy.Core.Posix;

/// <summary>
/// A directory tree opened by its root: every operation is relative to the root fd, so the tree
/// keeps working (and stays the same tree) even if its path is renamed, and nothing in the tree
/// can redirect an operation outside it. Parent directories are resolved with openat2
/// (RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS); the last component is handled
/// with *at calls that never follow it (AT_SYMLINK_NOFOLLOW, O_NOFOLLOW, unlinkat, renameat).
/// Thread-safe: it holds no state besides the root fd and its work directory's (<see cref="WorkDirName"/>).
/// </summary>
internal sealed partial class FsTree : IDisposable
{
    private const int DirPathFlags = Libc.O_PATH | Libc.O_CLOEXEC;
    private static readonly Lazy<bool> s_isRoot = new(() => Libc.geteuid() == 0);

    private static readonly byte[] s_dot = [(byte)'.', 0];

    private readonly SafeFd _root;

    /// <summary>An unnamed temp file is committed by linking its /proc/self/fd entry (see <see cref="CommitLink"/>).</summary>
    private static readonly Lazy<bool> s_procFds = new(() => Directory.Exists("/proc/self/fd"));

    /// <summary>Set once O_TMPFILE was refused here; written from any thread, a stale read only costs one more refusal.</summary>
    private volatile bool _noTmpFile;

    private FsTree(SafeFd root, string display)
    {
        _root = root;
        RootDisplay = display;
    }

    public string RootDisplay { get; }

    /// <summary>The directory the root fd is really open on, every symlink of the path it was
    /// opened by resolved (a guard checks this, not the path it was asked for).</summary>
    public string RealRoot => RealPaths.OfFd(_root);

    /// <summary>True when running as root (euid 0): ownership is applied only then.</summary>
    public static bool IsRoot => s_isRoot.Value;

    public static FsTree Open(string absoluteRoot, bool create) => Open(Encoding.UTF8.GetBytes(absoluteRoot), create);

    /// <summary>Opens the tree at <paramref name="absoluteRoot"/>; with <paramref name="create"/>
    /// missing directories of the root path are made first (0755). The root path itself is
    /// trusted configuration, so symlinks in it are followed; nothing below it ever is.</summary>
    public static FsTree Open(byte[] absoluteRoot, bool create)
    {
        ArgumentNullException.ThrowIfNull(absoluteRoot);
        if (absoluteRoot.Length == 0 || absoluteRoot[0] != (byte)'/' || absoluteRoot.AsSpan().IndexOf((byte)0) >= 0)
            throw new ArgumentException("The tree root must be an absolute path without NUL bytes.", nameof(absoluteRoot));
        string display = RelPath.Display(absoluteRoot);
        if (create)
            MkdirAll(absoluteRoot, display);
        var z = Sys.Z(absoluteRoot);
        int fd;
        unsafe
        {
            fixed (byte* p = z)
                fd = Libc.open(p, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
        }
        if (fd < 0)
            throw PosixException.FromLastError("open", display);
        return new FsTree(new SafeFd(fd), display);
    }

    public void Dispose()
    {
        DisposeWork();
        _root.Dispose();
    }

    /// <summary>syncfs(rootFd): flushes the whole file system holding the tree, the batched
    /// durability point after many renames (cheaper than fsync per file plus per directory).</summary>
    public void SyncFs()
    {
        if (FileSystem.Current.SyncFs(_root) != 0)
            throw PosixException.FromLastError("syncfs", RootDisplay);
    }

    private string Show(RelPath path) => path.IsRoot ? RootDisplay : RootDisplay + "/" + path;

    private static unsafe void MkdirAll(byte[] path, string display)
    {
        for (int i = 1; i <= path.Length; i++)
        {
            if (i < path.Length && path[i] != (byte)'/')
                continue;
            if (path[i - 1] == (byte)'/')
                continue;
            var z = Sys.Z(path.AsSpan(0, i));
            fixed (byte* p = z)
            {
                if (Libc.mkdir(p, 0x1ED) != 0 && Sys.Errno != Libc.EEXIST)
                    throw PosixException.FromLastError("mkdir", display);
            }
        }
    }

    /// <summary>Opens directory <paramref name="dir"/> (O_PATH) through the guard. With
    /// <paramref name="create"/>, missing components are made (0755, before umask); a symlink,
    /// ".." or non-directory in the way is never followed or replaced: it throws.</summary>
    private SafeFd ResolveDir(RelPath dir, bool create)
    {
        if (dir.IsRoot)
            return Dup(_root);
        int flags = DirPathFlags | Libc.O_DIRECTORY;
        int e = Sys.TryOpenBeneath(_root, Sys.Z(dir.Bytes), flags, out var fd);
        if (e == 0)
            return fd;
        if (e != Libc.ENOENT || !create)
            throw ResolveError(e, dir);

        // Slow path: walk component by component, making what is missing.
        var cur = Dup(_root);
        try
        {
            var rest = dir.Bytes;
            while (!rest.IsEmpty)
            {
                int slash = rest.IndexOf((byte)'/');
                var z = Sys.Z(slash < 0 ? rest : rest[..slash]);
                rest = slash < 0 ? default : rest[(slash + 1)..];
                e = Sys.TryOpenBeneath(cur, z, flags, out var next);
                if (e == Libc.ENOENT)
                {
                    int m = Sys.TryMkdirAt(cur, z, 0x1ED);
                    if (m != 0 && m != Libc.EEXIST)
                        throw new PosixException(m, "mkdir", Show(dir));
                    e = Sys.TryOpenBeneath(cur, z, flags, out next);
                }
                if (e != 0)
                    throw ResolveError(e, dir);
                cur.Dispose();
                cur = next;
            }
            return cur;
        }
        catch
        {
            cur.Dispose();
            throw;
        }
    }

    private PosixException ResolveError(int errno, RelPath dir) =>
        new(errno, "resolve", Show(dir), escape: errno is Libc.ELOOP or Libc.EXDEV);

    /// <summary>The parent directory of a non-root path, or null when it does not exist.</summary>
    private SafeFd? TryResolveParent(RelPath path)
    {
        try
        {
            return ResolveDir(path.Parent, create: false);
        }
        catch (PosixException ex) when (ex.IsNotFound && !ex.IsEscape)
        {
            return null;
        }
    }

    private static SafeFd Dup(SafeFd fd) =>
        Sys.OpenAt(fd, s_dot, DirPathFlags | Libc.O_DIRECTORY, 0, "open", ".");

    private static void RequireNotRoot(RelPath path, string paramName)
    {
        if (path.IsRoot)
            throw new ArgumentException("This operation needs a path below the tree root.", paramName);
    }
}
