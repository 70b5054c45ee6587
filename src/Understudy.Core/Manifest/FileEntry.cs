using Understudy.Core.Paths;

namespace Understudy.Core.Manifest;

internal enum EntryKind : byte
{
    File = 1,
    Directory = 2,
    Symlink = 3,
}

/// <summary>
/// What both sides of a mirror know about one file-system entry. <see cref="Mode"/> holds the
/// permission bits only (07777). <see cref="MtimeNs"/> is nanoseconds since the Unix epoch.
/// <see cref="Inode"/>/<see cref="Device"/>/<see cref="LinkCount"/> are local facts used to
/// find hard links on the side that scanned; they mean nothing on the other side. So does <see cref="CtimeNs"/> (the
/// source's last status change, for a catch-up that must not trust size and mtime alone); never sent.
/// <see cref="AllocatedBytes"/> is what the file takes on disk (st_blocks × 512; -1 when not known):
/// <c>verify</c> compares it to find holes the target filled.
/// </summary>
internal sealed record FileEntry(
    RelPath Path,
    EntryKind Kind,
    uint Mode,
    uint Uid,
    uint Gid,
    long Size,
    long MtimeNs,
    byte[]? LinkTarget = null,
    ulong Inode = 0,
    ulong Device = 0,
    uint LinkCount = 1,
    long AllocatedBytes = -1,
    long CtimeNs = 0);
