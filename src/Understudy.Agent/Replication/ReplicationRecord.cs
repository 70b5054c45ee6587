using System.Buffers.Binary;
using Understudy.Core.Paths;

namespace Understudy.Agent.Replication;

/// <summary>What a queue record asks the sender to do. The record names paths only: content and
/// metadata are read from the source when the record is sent (docs/architecture.md, "Replication").</summary>
internal enum RecordKind : byte
{
    /// <summary>The entry at Path was created or changed: send its current state (skipped when gone).</summary>
    Upsert = 1,

    Delete = 2,

    /// <summary>Path was renamed to To (both inside the job).</summary>
    Rename = 3,

    /// <summary>Path appeared from outside the job (moved in) or must be re-sent: send it and everything below it.</summary>
    UpsertTree = 4,

    /// <summary>A directory's children changed: re-send its metadata (mtime) after them.</summary>
    DirMeta = 5,
}

/// <summary>
/// One durable replication record. Wire form (little-endian):
/// <c>u8 kind | u8 root index | u8 flags (bit 0: directory, bit 1: inode, bit 2: time) | u16 length | path | [u16 length | to] | [u64 device | u64 inode] | [i64 queued-at]</c>.
/// Paths are relative to the source root (<see cref="Root"/> indexes the job's roots). <see cref="Inode"/>: for an
/// Upsert of a multiply linked file, the inode the path had when the change was queued, so the change still reaches
/// the file's other names when this one is gone by the time it is sent. <see cref="QueuedAtNs"/>: when the record was
/// queued (ns since the epoch): a mirror that takes unacknowledged records as covered counts what changed since then
/// as changed by its ctime (JobRunner.MirrorAsync). Readers ignore bytes they do not know.
/// </summary>
internal readonly record struct ReplicationRecord(RecordKind Kind, int Root, RelPath Path, bool IsDirectory = false, RelPath To = default,
    (ulong Dev, ulong Ino)? Inode = null, long? QueuedAtNs = null)
{
    private const byte DirectoryFlag = 1;
    private const byte InodeFlag = 2;
    private const byte TimeFlag = 4;

    public byte[] Encode()
    {
        bool rename = Kind == RecordKind.Rename;
        int inodeAt = 5 + Path.Length + (rename ? 2 + To.Length : 0);
        int timeAt = inodeAt + (Inode is null ? 0 : 16);
        var b = new byte[timeAt + (QueuedAtNs is null ? 0 : 8)];
        b[0] = (byte)Kind;
        b[1] = (byte)Root;
        b[2] = (byte)((IsDirectory ? DirectoryFlag : 0) | (Inode is null ? 0 : InodeFlag) | (QueuedAtNs is null ? 0 : TimeFlag));
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(3), (ushort)Path.Length);
        Path.Bytes.CopyTo(b.AsSpan(5));
        if (rename)
        {
            int at = 5 + Path.Length;
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at), (ushort)To.Length);
            To.Bytes.CopyTo(b.AsSpan(at + 2));
        }
        if (Inode is { } i)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(inodeAt), i.Dev);
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(inodeAt + 8), i.Ino);
        }
        if (QueuedAtNs is { } t)
            BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(timeAt), t);
        return b;
    }

    /// <summary>False for a payload this version cannot read (the caller falls back to a difference mirror).</summary>
    public static bool TryDecode(ReadOnlySpan<byte> b, out ReplicationRecord record)
    {
        record = default;
        if (b.Length < 5 || b[0] is < 1 or > 5)
            return false;
        var kind = (RecordKind)b[0];
        int len = BinaryPrimitives.ReadUInt16LittleEndian(b[3..]);
        if (b.Length < 5 + len || !TryPath(b.Slice(5, len), out var path))
            return false;
        var to = RelPath.Root;
        int at = 5 + len;
        if (kind == RecordKind.Rename)
        {
            if (b.Length < at + 2)
                return false;
            int tl = BinaryPrimitives.ReadUInt16LittleEndian(b[at..]);
            if (b.Length < at + 2 + tl || !TryPath(b.Slice(at + 2, tl), out to))
                return false;
            at += 2 + tl;
        }
        (ulong, ulong)? inode = null;
        if ((b[2] & InodeFlag) != 0)
        {
            if (b.Length < at + 16)
                return false;
            inode = (BinaryPrimitives.ReadUInt64LittleEndian(b[at..]), BinaryPrimitives.ReadUInt64LittleEndian(b[(at + 8)..]));
            at += 16;
        }
        long? queuedAt = null;
        if ((b[2] & TimeFlag) != 0)
        {
            if (b.Length < at + 8)
                return false;
            queuedAt = BinaryPrimitives.ReadInt64LittleEndian(b[at..]);
        }
        record = new ReplicationRecord(kind, b[1], path, (b[2] & DirectoryFlag) != 0, to, inode, queuedAt);
        return true;
    }

    private static bool TryPath(ReadOnlySpan<byte> bytes, out RelPath path)
    {
        if (bytes.IsEmpty)
        {
            path = RelPath.Root;
            return true;
        }
        return RelPath.TryCreate(bytes, out path);
    }

    public override string ToString() => Kind == RecordKind.Rename ? $"{Kind} {Path} -> {To}" : $"{Kind} {Path}";
}
