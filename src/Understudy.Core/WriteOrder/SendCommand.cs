using System.Buffers.Binary;

namespace Understudy.Core.WriteOrder;

/// <summary>One command of a btrfs send stream, its body owned by this object (the reader copies
/// nothing further). Attributes are found by type, in any order, as btrfs receive does; a repeated
/// attribute keeps the last. Getters check the attribute's presence and size and throw
/// <see cref="InvalidSendStreamException"/>, so a command that passed the CRC but carries the
/// wrong shape still fails with the stream offset in the message.</summary>
internal sealed class SendCommand
{
    private const int MaxAttribute = (int)SendAttribute.VeritySigData;

    private readonly byte[] _body;
    private readonly int[] _start = new int[MaxAttribute + 1];
    private readonly int[] _length = new int[MaxAttribute + 1];

    private SendCommand(SendCommandKind kind, byte[] body, long offset)
    {
        Kind = kind;
        _body = body;
        Offset = offset;
        Array.Fill(_start, -1);
    }

    public SendCommandKind Kind { get; }

    /// <summary>The command's first byte in the stream.</summary>
    public long Offset { get; }

    /// <summary>Splits <paramref name="body"/> (the bytes after the command header, CRC already checked)
    /// into attributes. <paramref name="version"/> 2 and later give <see cref="SendAttribute.Data"/> no length
    /// field: it runs to the end of the command.</summary>
    internal static SendCommand Parse(SendCommandKind kind, byte[] body, uint version, long offset)
    {
        var c = new SendCommand(kind, body, offset);
        int pos = 0;
        while (pos < body.Length)
        {
            if (body.Length - pos < 2)
                throw new InvalidSendStreamException($"{kind}: attribute header cut short", offset);
            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(pos));
            pos += 2;
            if (type == 0 || type > MaxAttribute)
                throw new InvalidSendStreamException($"{kind}: unknown attribute type {type}", offset);
            int len;
            if (version >= 2 && type == (ushort)SendAttribute.Data)
                len = body.Length - pos;
            else
            {
                if (body.Length - pos < 2)
                    throw new InvalidSendStreamException($"{kind}: attribute {(SendAttribute)type} cut short", offset);
                len = BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(pos));
                pos += 2;
            }
            if (body.Length - pos < len)
                throw new InvalidSendStreamException($"{kind}: attribute {(SendAttribute)type} of {len} bytes runs past the command's end", offset);
            c._start[type] = pos;
            c._length[type] = len;
            pos += len;
        }
        return c;
    }

    public bool Has(SendAttribute a) => _start[(int)a] >= 0;

    public ReadOnlySpan<byte> Bytes(SendAttribute a)
    {
        int s = _start[(int)a];
        if (s < 0)
            throw new InvalidSendStreamException($"{Kind}: attribute {a} missing", Offset);
        return _body.AsSpan(s, _length[(int)a]);
    }

    public ReadOnlyMemory<byte> Memory(SendAttribute a)
    {
        _ = Bytes(a);
        return _body.AsMemory(_start[(int)a], _length[(int)a]);
    }

    public ulong U64(SendAttribute a)
    {
        var b = Bytes(a);
        return b.Length == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(b)
            : throw new InvalidSendStreamException($"{Kind}: attribute {a} has {b.Length} bytes, not 8", Offset);
    }

    /// <summary>A u64 that must fit a signed 64-bit file offset or length (pwrite, ftruncate).</summary>
    public long Offset64(SendAttribute a)
    {
        ulong v = U64(a);
        return v <= long.MaxValue ? (long)v
            : throw new InvalidSendStreamException($"{Kind}: attribute {a} = {v} is out of range", Offset);
    }

    public Guid Uuid(SendAttribute a)
    {
        var b = Bytes(a);
        return b.Length == 16 ? new Guid(b, bigEndian: true)
            : throw new InvalidSendStreamException($"{Kind}: attribute {a} has {b.Length} bytes, not 16", Offset);
    }

    /// <summary>A timespec: u64 seconds, u32 nanoseconds.</summary>
    public (long Sec, long Nsec) Time(SendAttribute a)
    {
        var b = Bytes(a);
        if (b.Length != 12)
            throw new InvalidSendStreamException($"{Kind}: attribute {a} has {b.Length} bytes, not 12", Offset);
        long sec = BinaryPrimitives.ReadInt64LittleEndian(b);
        uint nsec = BinaryPrimitives.ReadUInt32LittleEndian(b[8..]);
        return nsec < 1_000_000_000 ? (sec, nsec)
            : throw new InvalidSendStreamException($"{Kind}: attribute {a} has {nsec} ns", Offset);
    }

    /// <summary>A path relative to the subvolume's root ("" is the root itself): no NUL, no leading
    /// '/', no "." or ".." component, so that joined to a replica's root it stays below it.</summary>
    public ReadOnlySpan<byte> RelativePath(SendAttribute a)
    {
        var p = Bytes(a);
        if (p.Length == 0)
            return p;
        if (p.IndexOf((byte)0) >= 0 || p[0] == (byte)'/' || p[^1] == (byte)'/')
            throw new InvalidSendStreamException($"{Kind}: attribute {a} is not a relative path", Offset);
        foreach (var range in p.Split((byte)'/'))
        {
            var part = p[range];
            if (part.Length == 0 || part.SequenceEqual("."u8) || part.SequenceEqual(".."u8))
                throw new InvalidSendStreamException($"{Kind}: attribute {a} has an empty, '.' or '..' component", Offset);
        }
        return p;
    }

    public override string ToString() =>
        Has(SendAttribute.Path) ? $"{Kind} {System.Text.Encoding.UTF8.GetString(Bytes(SendAttribute.Path))}" : Kind.ToString();
}
