using System.Buffers.Binary;
using System.IO.Hashing;

namespace Understudy.Core.Queue;

/// <summary>
/// Record: u32 payload length | u32 CRC-32 of (length, seq, timestamp, payload) | u64 seq |
/// i64 unix ms | payload; little-endian. Segment: 8-byte magic, u64 first seq, then records.
/// </summary>
internal static class RecordFormat
{
    public const int HeaderLength = 24;
    public const int SegmentHeaderLength = 16;

    public static ReadOnlySpan<byte> SegmentMagic => "USQSEG01"u8;

    public static void WriteHeader(Span<byte> destination, long seq, long timestampMs, ReadOnlySpan<byte> payload)
    {
        BinaryPrimitives.WriteInt32LittleEndian(destination, payload.Length);
        BinaryPrimitives.WriteInt64LittleEndian(destination[8..], seq);
        BinaryPrimitives.WriteInt64LittleEndian(destination[16..], timestampMs);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Checksum(destination[..HeaderLength], payload));
    }

    public static uint Checksum(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload)
    {
        var crc = new Crc32();
        crc.Append(header[..4]);
        crc.Append(header[8..HeaderLength]);
        crc.Append(payload);
        return crc.GetCurrentHashAsUInt32();
    }

    public static void WriteSegmentHeader(Span<byte> destination, long firstSeq)
    {
        SegmentMagic.CopyTo(destination);
        BinaryPrimitives.WriteInt64LittleEndian(destination[8..], firstSeq);
    }

    public static string SegmentName(long firstSeq) => $"{firstSeq:D20}.seg";

    public static bool TryParseSegmentName(string fileName, out long firstSeq)
    {
        firstSeq = 0;
        return fileName.Length == 24 && fileName.EndsWith(".seg", StringComparison.Ordinal)
            && long.TryParse(fileName.AsSpan(0, 20), System.Globalization.NumberStyles.None, null, out firstSeq)
            && firstSeq > 0;
    }
}
