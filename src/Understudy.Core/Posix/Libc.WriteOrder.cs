using System.Runtime.InteropServices;

namespace Understudy.Core.Posix;

/// <summary>Entry points only the write-order applier uses (src/Understudy.Core/WriteOrder).</summary>
internal static unsafe partial class Libc
{
    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int fchmodat(SafeFd dirfd, byte* path, uint mode, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int lremovexattr(byte* path, byte* name);
}
