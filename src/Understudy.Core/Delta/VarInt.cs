using System.Buffers;
using System.Numerics;

namespace Understudy.Core.Delta;

/// <summary>Unsigned LEB128, at most 10 bytes; overlong or overflowing encodings are invalid.</summary>
internal static class VarInt
{
    public const int MaxLength = 10;

    public static int Length(ulong value) => Math.Max(1, (64 - BitOperations.LeadingZeroCount(value) + 6) / 7);

    public static int Write(Span<byte> destination, ulong value)
    {
        int n = 0;
        while (value >= 0x80)
        {
            destination[n++] = (byte)(value | 0x80);
            value >>= 7;
        }
        destination[n++] = (byte)value;
        return n;
    }

    public static OperationStatus TryRead(ReadOnlySpan<byte> source, out ulong value, out int consumed)
    {
        value = 0;
        consumed = 0;
        for (int i = 0; i < MaxLength; i++)
        {
            if (i >= source.Length)
                return OperationStatus.NeedMoreData;
            byte b = source[i];
            if (i == MaxLength - 1 && b > 1)
                return OperationStatus.InvalidData;
            value |= (ulong)(b & 0x7F) << (7 * i);
            if (b < 0x80)
            {
                // A zero final byte after the first means a longer encoding than needed.
                if (b == 0 && i > 0)
                    return OperationStatus.InvalidData;
                consumed = i + 1;
                return OperationStatus.Done;
            }
        }
        return OperationStatus.InvalidData;
    }
}
