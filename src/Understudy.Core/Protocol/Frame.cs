using System.Buffers;
using System.Buffers.Binary;

namespace Understudy.Core.Protocol;

/// <summary>
/// Frame layout: <c>u32 length (LE) | u8 type | u8 flags | body[length]</c>.
/// The length covers the body only and is checked against <see cref="MaxBody"/> before a
/// byte of the body is buffered, so an oversized frame costs the receiver nothing.
/// </summary>
internal static class Frame
{
    public const int HeaderSize = 6;

    /// <summary>Largest body accepted: 4 MiB (data travels in chunks of at most <see cref="DataChunk"/>).</summary>
    public const int MaxBody = 4 * 1024 * 1024;

    /// <summary>File content is sent in chunks of this size.</summary>
    public const int DataChunk = 1024 * 1024;

    public const byte FlagLz4 = 1;
    public const byte FlagZstd = 2;

    public enum ParseResult
    {
        Complete,
        NeedMoreData,
    }

    /// <summary>
    /// Looks for one whole frame at the start of <paramref name="buffer"/>. Returns
    /// <see cref="ParseResult.NeedMoreData"/> rather than throwing when the frame is not all
    /// there yet; throws <see cref="ProtocolException"/> for an oversized or unknown frame.
    /// </summary>
    public static ParseResult TryParse(ref ReadOnlySequence<byte> buffer, out MessageType type, out byte flags, out ReadOnlySequence<byte> body)
    {
        type = default;
        flags = 0;
        body = default;
        if (buffer.Length < HeaderSize)
            return ParseResult.NeedMoreData;
        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(header);
        if (length > MaxBody)
            ProtocolException.Throw($"frame of {length} bytes exceeds the maximum of {MaxBody}");
        type = (MessageType)header[4];
        flags = header[5];
        if (!System.Enum.IsDefined(type))
            ProtocolException.Throw($"unknown frame type {header[4]}");
        if ((flags & ~(FlagLz4 | FlagZstd)) != 0 || flags == (FlagLz4 | FlagZstd))
            ProtocolException.Throw($"invalid frame flags 0x{flags:x2}");
        if (buffer.Length < HeaderSize + length)
            return ParseResult.NeedMoreData;
        body = buffer.Slice(HeaderSize, length);
        buffer = buffer.Slice(HeaderSize + length);
        return ParseResult.Complete;
    }

    public static void WriteHeader(Span<byte> header, MessageType type, byte flags, int bodyLength)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)bodyLength);
        header[4] = (byte)type;
        header[5] = flags;
    }
}
