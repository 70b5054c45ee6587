using Understudy.Core.Manifest;

namespace Understudy.Core.Posix;

/// <summary>What statx says about one entry. <see cref="Kind"/> is null for fifos, sockets and
/// devices, which Understudy does not replicate. <see cref="Mode"/> holds the 07777 bits only. <see cref="CtimeNs"/>:
/// the last status change (content, metadata, xattrs, links), which no one can set back as touch sets an mtime.</summary>
internal readonly record struct StatInfo(
    EntryKind? Kind,
    uint Mode,
    uint Uid,
    uint Gid,
    long Size,
    long MtimeNs,
    ulong Inode,
    ulong Device,
    uint LinkCount,
    long AllocatedBytes,
    long CtimeNs = 0)
{
    internal static StatInfo From(in StatxBuf s)
    {
        uint type = s.Mode & Libc.S_IFMT;
        EntryKind? kind = type switch
        {
            Libc.S_IFREG => EntryKind.File,
            Libc.S_IFDIR => EntryKind.Directory,
            Libc.S_IFLNK => EntryKind.Symlink,
            _ => null,
        };
        return new StatInfo(
            kind,
            s.Mode & 0xFFFu,
            s.Uid,
            s.Gid,
            (long)s.Size,
            s.MtimeSec * 1_000_000_000L + s.MtimeNsec,
            s.Ino,
            MakeDev(s.DevMajor, s.DevMinor),
            s.Nlink,
            (long)s.Blocks * 512,
            s.CtimeSec * 1_000_000_000L + s.CtimeNsec);
    }

    /// <summary>The other kinds, named for the skip report.</summary>
    internal static string OtherKindName(uint modeWithType) => (modeWithType & Libc.S_IFMT) switch
    {
        Libc.S_IFIFO => "fifo",
        Libc.S_IFSOCK => "socket",
        Libc.S_IFCHR => "character device",
        Libc.S_IFBLK => "block device",
        _ => "unknown file type",
    };

    // glibc's gnu_dev_makedev, so Device matches st_dev as other tools print it.
    private static ulong MakeDev(uint major, uint minor) =>
        ((ulong)(major & 0xfffff000u) << 32) | ((ulong)(major & 0xfffu) << 8)
        | ((ulong)(minor & 0xffffff00u) << 12) | (minor & 0xffu);
}

/// <summary>One extended attribute: raw name (e.g. "user.x") and value bytes.</summary>
internal readonly record struct Xattr(byte[] Name, byte[] Value);
