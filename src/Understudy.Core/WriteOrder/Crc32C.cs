using System.Buffers.Binary;
using System.Numerics;

namespace Understudy.Core.WriteOrder;

/// <summary>CRC32C (Castagnoli) as btrfs send computes it: seed 0 and no final inversion
/// (docs/dev/dev-send-stream.rst calls the seed "a slight mistake"; the receiver must repeat it).
/// <see cref="BitOperations.Crc32C(uint, ulong)"/> is the raw reflected update, SSE4.2/ARMv8 when present.</summary>
internal static class Crc32C
{
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (byte b in data)
            crc = BitOperations.Crc32C(crc, b);
        return crc;
    }
}
