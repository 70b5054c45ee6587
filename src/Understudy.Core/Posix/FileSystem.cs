namespace Understudy.Core.Posix;

/// <summary>
/// The file-system calls below the apply and walk code (FsTree, TempFile, Xattrs, the write-order applier) and the
/// source's replication queue (Queue/QueueDirectory.cs: segments, ack file, storage probe): what
/// writes, renames, links, removes, makes directories, sets attributes, makes durable and lists directories. Each
/// method is the libc call of the same name: it returns what libc returns and leaves errno where
/// <see cref="Sys.Errno"/> reads it, so callers branch on errors exactly as they did on the raw call. Reads of
/// content (pread, statx, readlink) stay direct: no fault the product must survive starts there that these do not cover.
/// The implementation is chosen once, before the agent opens any tree (<see cref="FileSystem.Use"/>):
/// <see cref="RealFileSystem"/>, or in tests <see cref="FaultingFileSystem"/> (the setting UNDERSTUDY_FAULT_FS).
/// </summary>
internal unsafe interface IFileSystem
{
    int OpenAt(SafeFd dir, byte* path, int flags, uint mode);

    nint Pwrite(SafeFd fd, byte* buffer, nuint count, long offset);

    int Ftruncate(SafeFd fd, long length);

    int Fsync(SafeFd fd);

    int SyncFs(SafeFd fd);

    int MkdirAt(SafeFd dir, byte* path, uint mode);

    int RenameAt(SafeFd fromDir, byte* from, SafeFd toDir, byte* to);

    int LinkAt(SafeFd fromDir, byte* from, SafeFd toDir, byte* to, int flags);

    int SymlinkAt(byte* target, SafeFd dir, byte* path);

    int UnlinkAt(SafeFd dir, byte* path, int flags);

    int Fsetxattr(SafeFd fd, byte* name, byte* value, nuint size, int flags);

    nint Getdents64(SafeFd dir, byte* buffer, nuint count);
}

/// <summary>The process's <see cref="IFileSystem"/>: the real one unless the agent chose another as it started.</summary>
internal static class FileSystem
{
    /// <summary>Read on every call of the seam: one load and one interface call beside a system call.</summary>
    public static IFileSystem Current { get; private set; } = RealFileSystem.Instance;

    /// <summary>Chooses the implementation; called once by the agent host before any tree is opened (and by tests).</summary>
    public static void Use(IFileSystem fs)
    {
        ArgumentNullException.ThrowIfNull(fs);
        Current = fs;
    }
}

/// <summary>The calls themselves: each forwards to <see cref="Libc"/> and nothing else.</summary>
internal sealed unsafe class RealFileSystem : IFileSystem
{
    public static RealFileSystem Instance { get; } = new();

    private RealFileSystem()
    {
    }

    public int OpenAt(SafeFd dir, byte* path, int flags, uint mode) => Libc.openat(dir, path, flags, mode);

    public nint Pwrite(SafeFd fd, byte* buffer, nuint count, long offset) => Libc.pwrite(fd, buffer, count, offset);

    public int Ftruncate(SafeFd fd, long length) => Libc.ftruncate(fd, length);

    public int Fsync(SafeFd fd) => Libc.fsync(fd);

    public int SyncFs(SafeFd fd) => Libc.syncfs(fd);

    public int MkdirAt(SafeFd dir, byte* path, uint mode) => Libc.mkdirat(dir, path, mode);

    public int RenameAt(SafeFd fromDir, byte* from, SafeFd toDir, byte* to) => Libc.renameat(fromDir, from, toDir, to);

    public int LinkAt(SafeFd fromDir, byte* from, SafeFd toDir, byte* to, int flags) => Libc.linkat(fromDir, from, toDir, to, flags);

    public int SymlinkAt(byte* target, SafeFd dir, byte* path) => Libc.symlinkat(target, dir, path);

    public int UnlinkAt(SafeFd dir, byte* path, int flags) => Libc.unlinkat(dir, path, flags);

    public int Fsetxattr(SafeFd fd, byte* name, byte* value, nuint size, int flags) => Libc.fsetxattr(fd, name, value, size, flags);

    public nint Getdents64(SafeFd dir, byte* buffer, nuint count) => Libc.getdents64(dir, buffer, count);
}
