namespace Understudy.Core.Posix;

/// <summary>Applies ownership, attributes, permissions and mtime, in the one order that works:
/// chown first (it clears set-id bits and security.capability), xattrs before chmod (a
/// read-only mode would forbid setting user.* as non-root), mtime last (everything before it
/// may touch ctime, never mtime, but keeping it last is cheap insurance).</summary>
internal static unsafe class Metadata
{
    public static void ApplyToFd(SafeFd fd, uint mode, uint? uid, uint? gid, long mtimeNs, IReadOnlyList<Xattr>? xattrs, string display) =>
        ApplyToFd(fd, mode, uid, gid, mtimeNs, xattrs, display, current: null);

    /// <summary>With <paramref name="current"/> (the fd's fstat), a chown or chmod that would change
    /// nothing is skipped: each is a journaled inode update, and a file the target just created
    /// usually has its final owner and mode already. A chown may clear set-ID bits, so chmod follows
    /// any chown that was made.</summary>
    public static void ApplyToFd(SafeFd fd, uint mode, uint? uid, uint? gid, long mtimeNs, IReadOnlyList<Xattr>? xattrs, string display, StatInfo? current)
    {
        bool chowned = false;
        if (FsTree.IsRoot && (uid.HasValue || gid.HasValue)
            && (current is not { } c || (uid.HasValue && uid != c.Uid) || (gid.HasValue && gid != c.Gid)))
        {
            if (Libc.fchown(fd, uid ?? uint.MaxValue, gid ?? uint.MaxValue) != 0)
                throw PosixException.FromLastError("chown", display);
            chowned = true;
        }
        if (xattrs is not null)
            Xattrs.Replace(fd, xattrs, display);
        if ((chowned || current is not { } s || (s.Mode & 0xFFF) != (mode & 0xFFF)) && Libc.fchmod(fd, mode & 0xFFF) != 0)
            throw PosixException.FromLastError("chmod", display);
        Timespec* times = stackalloc Timespec[2];
        SetMtime(times, mtimeNs);
        if (Libc.futimens(fd, times) != 0)
            throw PosixException.FromLastError("utimens", display);
    }

    /// <summary>Symlinks: only ownership and mtime exist (mode is always 0777, user.* xattrs
    /// are not allowed on them).</summary>
    public static void ApplyToSymlink(SafeFd parent, byte[] zname, uint? uid, uint? gid, long mtimeNs, string display)
    {
        fixed (byte* n = zname)
        {
            if (FsTree.IsRoot && (uid.HasValue || gid.HasValue)
                && Libc.fchownat(parent, n, uid ?? uint.MaxValue, gid ?? uint.MaxValue, Libc.AT_SYMLINK_NOFOLLOW) != 0)
                throw PosixException.FromLastError("lchown", display);
            Timespec* times = stackalloc Timespec[2];
            SetMtime(times, mtimeNs);
            if (Libc.utimensat(parent, n, times, Libc.AT_SYMLINK_NOFOLLOW) != 0)
                throw PosixException.FromLastError("utimensat", display);
        }
    }

    /// <summary>Sets the mtime of the directory <paramref name="dir"/> itself (an O_PATH descriptor will do).</summary>
    public static void SetDirectoryMtime(SafeFd dir, long mtimeNs, string display)
    {
        Timespec* times = stackalloc Timespec[2];
        SetMtime(times, mtimeNs);
        fixed (byte* dot = "."u8)
        {
            if (Libc.utimensat(dir, dot, times, 0) != 0)
                throw PosixException.FromLastError("utimensat", display);
        }
    }

    // times[0] = atime (left alone), times[1] = mtime. Floor division keeps tv_nsec in
    // [0, 1e9) for times before 1970.
    private static void SetMtime(Timespec* times, long mtimeNs)
    {
        times[0] = new Timespec { Sec = 0, Nsec = Libc.UTIME_OMIT };
        long sec = Math.DivRem(mtimeNs, 1_000_000_000L, out long ns);
        if (ns < 0)
        {
            sec--;
            ns += 1_000_000_000L;
        }
        times[1] = new Timespec { Sec = sec, Nsec = ns };
    }
}
