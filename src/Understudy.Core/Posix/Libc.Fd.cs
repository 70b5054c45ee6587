using System.Runtime.InteropServices;

namespace Understudy.Core.Posix;

/// <summary>Entry points on plain descriptors and absolute paths, for the change capture
/// (src/Understudy.Agent/Replication/Capture): its inotify and fanotify descriptors and its eventfd are owned by the
/// watcher's own thread and closed with <see cref="close"/>, not SafeFds; its paths are absolute and its directory fd
/// can be AT_FDCWD. Overloads of the same calls as the rest of this class, so each libc call has one binding, one
/// name. (The inotify and fanotify calls themselves stay with the capture, their one user.)</summary>
internal static unsafe partial class Libc
{
    [LibraryImport(Lib, SetLastError = true)]
    internal static partial nint read(int fd, byte* buffer, nuint count);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial nint write(int fd, byte* buffer, nuint count);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int openat(int dirfd, byte* path, int flags, uint mode);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int statx(int dirfd, byte* path, int flags, uint mask, StatxBuf* buf);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial nint readlink(byte* path, byte* buf, nuint size);

    /// <summary>ioctl with a pointer argument on a plain descriptor (FIONREAD).</summary>
    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int ioctl(int fd, nuint request, void* arg);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int poll(PollFd* fds, nuint nfds, int timeout);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int eventfd(uint initval, int flags);

    internal const int AT_FDCWD = -100;

    internal const short POLLIN = 1;

    /// <summary>eventfd flags: the O_ values (asm-generic, x86_64 and arm64 alike).</summary>
    internal const int EFD_CLOEXEC = O_CLOEXEC;
    internal const int EFD_NONBLOCK = O_NONBLOCK;

    /// <summary>ioctl: bytes waiting to be read (inotify and fanotify both answer it).</summary>
    internal const nuint FIONREAD = 0x541B;

    internal const int EMFILE = 24;
}
