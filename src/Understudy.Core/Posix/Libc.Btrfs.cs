using System.Runtime.InteropServices;

namespace Understudy.Core.Posix;

/// <summary>Entry points only the write-order source uses (src/Understudy.Core/WriteOrder/Source): btrfs ioctls,
/// the file system type, and a pipe for BTRFS_IOC_SEND to write into.</summary>
internal static unsafe partial class Libc
{
    /// <summary>ioctl with a pointer argument; variadic in C, which the x86_64 and arm64 Linux calling conventions
    /// pass like a fixed pointer.</summary>
    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int ioctl(SafeFd fd, nuint request, void* arg);

    /// <summary>Fills a struct statfs; only its first word, f_type (a long on 64-bit Linux), is read.</summary>
    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int fstatfs(SafeFd fd, byte* buf);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int pipe2(int* fds, int flags);

    internal const int F_SETPIPE_SZ = 1031;
}
