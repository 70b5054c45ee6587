using System.Runtime.InteropServices;

namespace Understudy.Agent.Replication.Capture;

/// <summary>
/// Lists a directory with raw byte names (readdir64), because .NET's enumeration decodes names
/// to strings and cannot round-trip invalid UTF-8.
/// </summary>
internal static unsafe class DirectoryReader
{
    private const byte DT_UNKNOWN = 0;
    private const byte DT_DIR = 4;

    // struct dirent64 (glibc, all 64-bit ABIs): d_ino u64, d_off s64, d_reclen u16, d_type u8, d_name[].
    private const int TypeOffset = 18;
    private const int NameOffset = 19;

    internal readonly record struct Entry(byte[] Name, bool IsDirectory);

    /// <summary>
    /// Reads the entries of the directory at <paramref name="absolutePath"/> (NUL-terminated),
    /// without following a symlink in its last component. Returns false with the errno when it
    /// cannot be opened (gone, replaced by a file): callers treat that as a race they will hear about.
    /// </summary>
    public static bool TryRead(byte[] absolutePath, List<Entry> into, out int errno)
    {
        errno = 0;
        int fd;
        fixed (byte* p = absolutePath)
            fd = Interop.Open(p, Interop.O_RDONLY | Interop.O_DIRECTORY | Interop.O_NOFOLLOW | Interop.O_CLOEXEC);
        if (fd < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return false;
        }
        nint dir = Interop.FdOpenDir(fd);
        if (dir == 0)
        {
            errno = Marshal.GetLastPInvokeError();
            Interop.Close(fd);
            return false;
        }
        try
        {
            while (true)
            {
                nint ent = Interop.ReadDir(dir);
                if (ent == 0)
                    break;
                var name = MemoryMarshal.CreateReadOnlySpanFromNullTerminated((byte*)ent + NameOffset);
                if (name.SequenceEqual("."u8) || name.SequenceEqual(".."u8))
                    continue;
                byte type = *((byte*)ent + TypeOffset);
                bool isDir = type == DT_DIR || (type == DT_UNKNOWN && IsDirectoryAt(fd, name));
                into.Add(new Entry(name.ToArray(), isDir));
            }
            return true;
        }
        finally
        {
            Interop.CloseDir(dir); // closes fd too
        }
    }

    private static bool IsDirectoryAt(int dirFd, ReadOnlySpan<byte> name)
    {
        var c = Interop.CString(name);
        int fd;
        fixed (byte* p = c)
            fd = Interop.OpenAt(dirFd, p, Interop.O_PATH | Interop.O_DIRECTORY | Interop.O_NOFOLLOW | Interop.O_CLOEXEC);
        if (fd < 0)
            return false;
        Interop.Close(fd);
        return true;
    }
}
