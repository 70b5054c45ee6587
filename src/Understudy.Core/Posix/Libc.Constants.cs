using System.Runtime.InteropServices;

namespace Understudy.Core.Posix;

internal static partial class Libc
{
    // Open flags. O_DIRECTORY and O_NOFOLLOW differ on ARM (arch/arm64/include/uapi/asm/fcntl.h);
    // every other Linux port uses the asm-generic values that x86_64 has.
    private static readonly bool s_armFlags =
        RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm;

    internal const int O_RDONLY = 0;
    internal const int O_WRONLY = 1;
    internal const int O_RDWR = 2;
    internal const int O_CREAT = 0x40;
    internal const int O_EXCL = 0x80;
    internal const int O_TRUNC = 0x200;
    internal const int O_NONBLOCK = 0x800;
    internal const int O_CLOEXEC = 0x80000;
    internal const int O_PATH = 0x200000;
    internal static readonly int O_DIRECTORY = s_armFlags ? 0x4000 : 0x10000;

    /// <summary>__O_TMPFILE (the same on x86-64 and arm64) with O_DIRECTORY, as the kernel requires.</summary>
    internal static readonly int O_TMPFILE = 0x400000 | O_DIRECTORY;
    internal static readonly int O_NOFOLLOW = s_armFlags ? 0x8000 : 0x20000;
    internal static readonly int O_DIRECT = s_armFlags ? 0x10000 : 0x4000;

    internal const int POSIX_FADV_SEQUENTIAL = 2;
    internal const int POSIX_FADV_WILLNEED = 3;
    internal const int POSIX_FADV_DONTNEED = 4;

    internal const int F_GETFL = 3;
    internal const int F_SETFL = 4;

    internal const int AT_SYMLINK_NOFOLLOW = 0x100;
    internal const int AT_SYMLINK_FOLLOW = 0x400;
    internal const int AT_REMOVEDIR = 0x200;
    internal const int AT_EMPTY_PATH = 0x1000;

    // openat2 is syscall 437 on every architecture (it came after the syscall table unification).
    internal const long SYS_openat2 = 437;
    internal const ulong RESOLVE_NO_MAGICLINKS = 0x02;
    internal const ulong RESOLVE_NO_SYMLINKS = 0x04;
    internal const ulong RESOLVE_BENEATH = 0x08;

    internal const uint STATX_BASIC_STATS = 0x7ff;
    internal const uint STATX_MNT_ID = 0x1000;

    internal const int SEEK_SET = 0;
    internal const int SEEK_DATA = 3;
    internal const int SEEK_HOLE = 4;

    /// <summary>sync_file_range: start writeback of the range's dirty pages, do not wait.</summary>
    internal const uint SYNC_FILE_RANGE_WRITE = 2;

    internal const long UTIME_OMIT = (1L << 30) - 2;

    // File type bits of st_mode.
    internal const uint S_IFMT = 0xF000;
    internal const uint S_IFREG = 0x8000;
    internal const uint S_IFDIR = 0x4000;
    internal const uint S_IFLNK = 0xA000;
    internal const uint S_IFIFO = 0x1000;
    internal const uint S_IFSOCK = 0xC000;
    internal const uint S_IFCHR = 0x2000;
    internal const uint S_IFBLK = 0x6000;

    // getdents64 d_type values.
    internal const byte DT_DIR = 4;

    // errno values (asm-generic, shared by x86_64 and arm64).
    internal const int EPERM = 1;
    internal const int ENOENT = 2;
    internal const int EINTR = 4;
    internal const int ENXIO = 6;
    internal const int EAGAIN = 11;
    internal const int EACCES = 13;
    internal const int EEXIST = 17;
    internal const int EXDEV = 18;
    internal const int ENOTDIR = 20;
    internal const int EISDIR = 21;
    internal const int EINVAL = 22;
    internal const int ENOSPC = 28;
    internal const int ERANGE = 34;
    internal const int ENOSYS = 38;
    internal const int ENOTEMPTY = 39;
    internal const int ELOOP = 40;
    internal const int ENODATA = 61;
    internal const int EOPNOTSUPP = 95;
    internal const int EDQUOT = 122;
}
