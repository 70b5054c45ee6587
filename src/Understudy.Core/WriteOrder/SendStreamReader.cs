using System.Buffers.Binary;

namespace Understudy.Core.WriteOrder;

/// <summary>Reads a btrfs send stream (btrfs-progs Documentation/dev/dev-send-stream.rst): the
/// 13-byte magic "btrfs-stream\0", a u32 version, then commands of
/// <c>u32 length (of the body) | u16 command | u32 crc32c (of header and body, crc field zeroed)</c>
/// followed by TLV attributes. Every length is checked against <see cref="SendStreamLimits"/> before
/// anything is allocated for it; a fault throws <see cref="InvalidSendStreamException"/>.
/// <see cref="ReadCommand"/> returns null only at a clean end of input between commands: whether
/// the stream was complete is for the caller to judge (an <see cref="SendCommandKind.End"/> seen).</summary>
internal sealed class SendStreamReader
{
    public const int HeaderSize = 17;
    public const int CommandHeaderSize = 10;
    private static ReadOnlySpan<byte> Magic => "btrfs-stream\0"u8;

    private readonly Stream _stream;
    private readonly SendStreamLimits _limits;
    private readonly byte[] _header = new byte[HeaderSize];
    private long _offset;

    public SendStreamReader(Stream stream, SendStreamLimits? limits = null)
    {
        _stream = stream;
        _limits = limits ?? SendStreamLimits.Default;
    }

    /// <summary>The stream's version, once <see cref="ReadHeader"/> has run.</summary>
    public uint Version { get; private set; }

    /// <summary>Bytes consumed so far.</summary>
    public long Position => _offset;

    public void ReadHeader()
    {
        if (ReadFully(_header.AsSpan(0, HeaderSize)) != HeaderSize)
            throw new InvalidSendStreamException("stream header cut short", 0);
        Version = CheckHeader(_header);
        _offset = HeaderSize;
    }

    public async ValueTask ReadHeaderAsync(CancellationToken ct)
    {
        if (await ReadFullyAsync(_header.AsMemory(0, HeaderSize), ct).ConfigureAwait(false) != HeaderSize)
            throw new InvalidSendStreamException("stream header cut short", 0);
        Version = CheckHeader(_header);
        _offset = HeaderSize;
    }

    public SendCommand? ReadCommand()
    {
        long at = _offset;
        int n = ReadFully(_header.AsSpan(0, CommandHeaderSize));
        if (n == 0)
            return null;
        var (kind, body) = BeginCommand(n, at);
        if (ReadFully(body) != body.Length)
            throw new InvalidSendStreamException($"{kind}: body cut short", at);
        return EndCommand(kind, body, at);
    }

    public async ValueTask<SendCommand?> ReadCommandAsync(CancellationToken ct)
    {
        long at = _offset;
        int n = await ReadFullyAsync(_header.AsMemory(0, CommandHeaderSize), ct).ConfigureAwait(false);
        if (n == 0)
            return null;
        var (kind, body) = BeginCommand(n, at);
        if (await ReadFullyAsync(body, ct).ConfigureAwait(false) != body.Length)
            throw new InvalidSendStreamException($"{kind}: body cut short", at);
        return EndCommand(kind, body, at);
    }

    private uint CheckHeader(ReadOnlySpan<byte> h)
    {
        if (!h[..Magic.Length].SequenceEqual(Magic))
            throw new InvalidSendStreamException("not a btrfs send stream (magic differs)", 0);
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(h[Magic.Length..]);
        if (version is < 1 or > 2)
            throw new InvalidSendStreamException($"stream version {version} not supported (1 and 2 are)", 0);
        return version;
    }

    private (SendCommandKind Kind, byte[] Body) BeginCommand(int headerBytes, long at)
    {
        if (headerBytes != CommandHeaderSize)
            throw new InvalidSendStreamException("command header cut short", at);
        uint len = BinaryPrimitives.ReadUInt32LittleEndian(_header);
        ushort cmd = BinaryPrimitives.ReadUInt16LittleEndian(_header.AsSpan(4));
        if (cmd == 0 || cmd > (ushort)(Version >= 2 ? SendCommandKind.EncodedWrite : SendCommandKind.UpdateExtent))
            throw new InvalidSendStreamException($"unknown command {cmd} for stream version {Version}", at);
        if (len > (uint)_limits.MaxCommandBodyBytes)
            throw new InvalidSendStreamException($"{(SendCommandKind)cmd}: body of {len} bytes exceeds the limit of {_limits.MaxCommandBodyBytes}", at);
        return ((SendCommandKind)cmd, new byte[len]);
    }

    private SendCommand EndCommand(SendCommandKind kind, byte[] body, long at)
    {
        uint expected = BinaryPrimitives.ReadUInt32LittleEndian(_header.AsSpan(6));
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(6), 0);
        uint crc = Crc32C.Update(Crc32C.Update(0, _header.AsSpan(0, CommandHeaderSize)), body);
        if (crc != expected)
            throw new InvalidSendStreamException($"{kind}: checksum mismatch (stream says {expected:x8}, data gives {crc:x8})", at);
        _offset = at + CommandHeaderSize + body.Length;
        return SendCommand.Parse(kind, body, Version, at);
    }

    private int ReadFully(Span<byte> buf)
    {
        int total = 0;
        while (total < buf.Length)
        {
            int n = _stream.Read(buf[total..]);
            if (n == 0)
                break;
            total += n;
        }
        return total;
    }

    private async ValueTask<int> ReadFullyAsync(Memory<byte> buf, CancellationToken ct)
    {
        int total = 0;
        while (total < buf.Length)
        {
            int n = await _stream.ReadAsync(buf[total..], ct).ConfigureAwait(false);
            if (n == 0)
                break;
            total += n;
        }
        return total;
    }
}
