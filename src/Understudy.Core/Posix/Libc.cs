using System.Runtime.InteropServices;

namespace Understudy.Core.Posix;

/// <summary>Raw glibc entry points. Paths are NUL-terminated bytes: Linux names are not text.
/// Every call sets errno, read back with <see cref="Marshal.GetLastPInvokeError"/>.
/// Functions that return an int fd return int (not SafeFd): the SafeHandle marshaller reads a
/// pointer-sized return, and the upper half of an int return register is undefined.</summary>
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int close(int fd);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int openat(SafeFd dirfd, byte* path, int flags, uint mode);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int open(byte* path, int flags, uint mode);

    /// <summary>openat2 has no glibc wrapper before 2.40; called through syscall(2).</summary>
    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true)]
    internal static partial long syscall_openat2(long number, SafeFd dirfd, byte* path, OpenHow* how, nuint size);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int statx(SafeFd dirfd, byte* path, int flags, uint mask, StatxBuf* buf);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial nint getdents64(SafeFd fd, byte* buffer, nuint count);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial nint read(SafeFd fd, byte* buffer, nuint count);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial nint pread(SafeFd fd, byte* buffer, nuint count, long offset);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial nint pwrite(SafeFd fd, byte* buffer, nuint count, long offset);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial long lseek(SafeFd fd, long offset, int whence);

    /// <summary>fcntl with an int argument (F_GETFL, F_SETFL); variadic in C, which the x86_64 and
    /// arm64 Linux calling conventions pass like a fixed int.</summary>
    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int fcntl(SafeFd fd, int cmd, int arg);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int ftruncate(SafeFd fd, long length);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int fsync(SafeFd fd);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int syncfs(SafeFd fd);

    /// <summary>Returns the error number (not -1 and errno).</summary>
    [LibraryImport(Lib)]
    internal static partial int posix_fadvise(SafeFd fd, long offset, long length, int advice);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int sync_file_range(SafeFd fd, long offset, long nbytes, uint flags);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int renameat(SafeFd olddirfd, byte* oldpath, SafeFd newdirfd, byte* newpath);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int unlinkat(SafeFd dirfd, byte* path, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int mkdirat(SafeFd dirfd, byte* path, uint mode);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int mkdir(byte* path, uint mode);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int mknodat(SafeFd dirfd, byte* path, uint mode, ulong dev);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int symlinkat(byte* target, SafeFd newdirfd, byte* linkpath);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial nint readlinkat(SafeFd dirfd, byte* path, byte* buf, nuint size);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int linkat(SafeFd olddirfd, byte* oldpath, SafeFd newdirfd, byte* newpath, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int fchmod(SafeFd fd, uint mode);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int fchown(SafeFd fd, uint owner, uint group);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int fchownat(SafeFd dirfd, byte* path, uint owner, uint group, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int futimens(SafeFd fd, Timespec* times);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int utimensat(SafeFd dirfd, byte* path, Timespec* times, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial nint flistxattr(SafeFd fd, byte* list, nuint size);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial nint fgetxattr(SafeFd fd, byte* name, byte* value, nuint size);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int fsetxattr(SafeFd fd, byte* name, byte* value, nuint size, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int fremovexattr(SafeFd fd, byte* name);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial nint llistxattr(byte* path, byte* list, nuint size);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial nint lgetxattr(byte* path, byte* name, byte* value, nuint size);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int lsetxattr(byte* path, byte* name, byte* value, nuint size, int flags);

    [LibraryImport(Lib)]
    internal static partial uint geteuid();

    /// <summary>Replaces the process image; returns (-1) only on failure. <paramref name="argv"/> and <paramref name="envp"/>
    /// are NULL-terminated arrays of NUL-terminated strings.</summary>
    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int execve(byte* path, byte** argv, byte** envp);
}
