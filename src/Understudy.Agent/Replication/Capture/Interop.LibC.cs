using System.Runtime.InteropServices;

namespace Understudy.Agent.Replication.Capture;

/// <summary>
/// The few libc calls change capture needs. Paths cross this boundary as NUL-terminated byte
/// strings, never as .NET strings, because Linux names may be invalid UTF-8.
/// </summary>
internal static unsafe partial class Interop
{
    private const string Libc = "libc";

    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int ENOENT = 2;
    public const int ENOTDIR = 20;
    public const int EMFILE = 24;
    public const int ENOSPC = 28;
    public const int ESTALE = 116;
    public const int ELOOP = 40;

    public const int O_RDONLY = 0;
    public const int O_DIRECTORY = 0x10000;
    public const int O_NOFOLLOW = 0x20000;
    public const int O_CLOEXEC = 0x80000;
    public const int O_PATH = 0x200000;
    public const int O_LARGEFILE = 0; // implied on 64-bit

    public const int AT_FDCWD = -100;
    public const int AT_SYMLINK_NOFOLLOW = 0x100;
    public const uint STATX_BASIC_STATS = 0x7ff;

    public const short POLLIN = 1;

    /// <summary>ioctl: bytes waiting to be read (inotify and fanotify both answer it).</summary>
    public const nuint FIONREAD = 0x541B;

    [LibraryImport(Libc, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int IoctlInt(int fd, nuint request, out int value);

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short REvents;
    }

    [LibraryImport(Libc, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buf, nint count);

    [LibraryImport(Libc, EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buf, nint count);

    [LibraryImport(Libc, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Libc, EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint nfds, int timeout);

    [LibraryImport(Libc, EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initval, int flags);

    [LibraryImport(Libc, EntryPoint = "open", SetLastError = true)]
    public static partial int Open(byte* path, int flags);

    [LibraryImport(Libc, EntryPoint = "openat", SetLastError = true)]
    public static partial int OpenAt(int dirfd, byte* path, int flags);

    [LibraryImport(Libc, EntryPoint = "readlink", SetLastError = true)]
    public static partial nint ReadLink(byte* path, byte* buf, nint size);

    [LibraryImport(Libc, EntryPoint = "fdopendir", SetLastError = true)]
    public static partial nint FdOpenDir(int fd);

    [LibraryImport(Libc, EntryPoint = "readdir64", SetLastError = true)]
    public static partial nint ReadDir(nint dir);

    [LibraryImport(Libc, EntryPoint = "closedir", SetLastError = true)]
    public static partial int CloseDir(nint dir);

    [LibraryImport(Libc, EntryPoint = "statx", SetLastError = true)]
    public static partial int Statx(int dirfd, byte* path, int flags, uint mask, Core.Posix.StatxBuf* buf);

    [LibraryImport(Libc, EntryPoint = "geteuid")]
    public static partial uint GetEuid();

    [LibraryImport(Libc, EntryPoint = "setxattr", SetLastError = true)]
    public static partial int SetXattr(byte* path, byte* name, byte* value, nuint size, int flags);

    /// <summary>A NUL-terminated copy of <paramref name="path"/> for passing to libc.</summary>
    public static byte[] CString(ReadOnlySpan<byte> path)
    {
        var b = new byte[path.Length + 1];
        path.CopyTo(b);
        return b;
    }

    public static string ErrorText(int errno) => Marshal.GetPInvokeErrorMessage(errno);
}
