namespace Understudy.Core.WriteOrder;

/// <summary>Commands of the btrfs send stream (btrfs-progs kernel-shared/send.h, enum btrfs_send_cmd).
/// Version 1 is what <c>btrfs send</c> emits unless asked for <c>--proto 2</c>.</summary>
internal enum SendCommandKind : ushort
{
    Unspec = 0,
    Subvol = 1,
    Snapshot = 2,
    MkFile = 3,
    MkDir = 4,
    MkNod = 5,
    MkFifo = 6,
    MkSock = 7,
    Symlink = 8,
    Rename = 9,
    Link = 10,
    Unlink = 11,
    Rmdir = 12,
    SetXattr = 13,
    RemoveXattr = 14,
    Write = 15,
    Clone = 16,
    Truncate = 17,
    Chmod = 18,
    Chown = 19,
    Utimes = 20,
    End = 21,
    UpdateExtent = 22,

    // Version 2
    Fallocate = 23,
    FileAttr = 24,
    EncodedWrite = 25,

    // Version 3 (experimental builds only)
    EnableVerity = 26,
}

/// <summary>Attributes (TLV types) of the btrfs send stream (send.h, BTRFS_SEND_A_*).</summary>
internal enum SendAttribute : ushort
{
    Unspec = 0,
    Uuid = 1,
    Ctransid = 2,
    Ino = 3,
    Size = 4,
    Mode = 5,
    Uid = 6,
    Gid = 7,
    Rdev = 8,
    Ctime = 9,
    Mtime = 10,
    Atime = 11,
    Otime = 12,
    XattrName = 13,
    XattrData = 14,
    Path = 15,
    PathTo = 16,
    PathLink = 17,
    FileOffset = 18,
    Data = 19,
    CloneUuid = 20,
    CloneCtransid = 21,
    ClonePath = 22,
    CloneOffset = 23,
    CloneLen = 24,
    FallocateMode = 25,
    FileAttr = 26,
    UnencodedFileLen = 27,
    UnencodedLen = 28,
    UnencodedOffset = 29,
    Compression = 30,
    Encryption = 31,
    VerityAlgorithm = 32,
    VerityBlockSize = 33,
    VeritySaltData = 34,
    VeritySigData = 35,
}
