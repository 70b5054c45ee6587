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
/// <c>u8 kind | u8 root index | u8 flags (bit 0: directory) | u16 length | path | [u16 length | to]</c>.
/// Paths are relative to the source root (<see cref="Root"/> indexes the job's roots).
/// </summary>
internal readonly record struct ReplicationRecord(RecordKind Kind, int Root, RelPath Path, bool IsDirectory = false, RelPath To = default)
{
    public byte[] Encode()
    {
        bool rename = Kind == RecordKind.Rename;
        var b = new byte[5 + Path.Length + (rename ? 2 + To.Length : 0)];
        b[0] = (byte)Kind;
        b[1] = (byte)Root;
        b[2] = IsDirectory ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(3), (ushort)Path.Length);
        Path.Bytes.CopyTo(b.AsSpan(5));
        if (rename)
        {
            int at = 5 + Path.Length;
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at), (ushort)To.Length);
            To.Bytes.CopyTo(b.AsSpan(at + 2));
        }
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
        }
        record = new ReplicationRecord(kind, b[1], path, (b[2] & 1) != 0, to);
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
