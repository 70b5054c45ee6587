using Understudy.Core.Posix;

namespace Understudy.Agent.Replication.Capture;

/// <summary>
/// Lists a directory by its absolute path with raw byte names, through the one raw directory reader
/// (<see cref="Sys.ReadDir"/>, getdents64), because .NET's enumeration decodes names to strings and cannot round-trip
/// invalid UTF-8.
/// </summary>
internal static class DirectoryReader
{
    private const byte DT_UNKNOWN = 0;

    internal readonly record struct Entry(byte[] Name, bool IsDirectory);

    /// <summary>
    /// Reads the entries of the directory at <paramref name="absolutePath"/> (NUL-terminated),
    /// without following a symlink in its last component. Returns false with the errno when it
    /// cannot be opened or read (gone, replaced by a file): callers treat that as a race they will hear about.
    /// </summary>
    public static unsafe bool TryRead(byte[] absolutePath, List<Entry> into, out int errno)
    {
        errno = 0;
        int fd;
        fixed (byte* p = absolutePath)
            fd = Libc.open(p, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0);
        if (fd < 0)
        {
            errno = Sys.Errno;
            return false;
        }
        using var dir = new SafeFd(fd);
        List<(byte[] ZName, byte Type)> names;
        try
        {
            names = Sys.ReadDir(dir, "");
        }
        catch (PosixException e)
        {
            errno = e.Errno;
            return false;
        }
        foreach (var (z, type) in names)
        {
            bool isDir = type == Libc.DT_DIR || (type == DT_UNKNOWN && IsDirectoryAt(dir, z));
            into.Add(new Entry(z[..^1], isDir));
        }
        return true;
    }

    private static bool IsDirectoryAt(SafeFd dir, byte[] zname)
    {
        int e = Sys.TryOpenAt(dir, zname, Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0, out var fd);
        fd.Dispose();
        return e == 0;
    }
}
