namespace Understudy.Core.Delta;

/// <summary>
/// rsync's weak checksum: a = Σx, b = Σ(len−i)·x, both mod 2^16, packed as a | b&lt;&lt;16.
/// It rolls one byte in O(1). Sums are kept in full 32-bit words and masked on read:
/// arithmetic mod 2^32 agrees with arithmetic mod 2^16 on the low 16 bits.
/// </summary>
internal struct RollingChecksum
{
    private uint _a;
    private uint _b;
    private readonly uint _length;

    internal RollingChecksum(uint a, uint b, int length)
    {
        _a = a;
        _b = b;
        _length = (uint)length;
    }

    internal readonly uint A => _a;

    internal readonly uint B => _b;

    public readonly uint Value => (_a & 0xFFFF) | (_b << 16);

    public static RollingChecksum Compute(ReadOnlySpan<byte> window)
    {
        uint a = 0, b = 0;
        int i = 0;
        // Unrolled by four: b gains a after each byte, so 4 bytes add 4a + 4x0 + 3x1 + 2x2 + x3.
        for (; i + 4 <= window.Length; i += 4)
        {
            uint x0 = window[i], x1 = window[i + 1], x2 = window[i + 2], x3 = window[i + 3];
            b += (4 * a) + (4 * x0) + (3 * x1) + (2 * x2) + x3;
            a += x0 + x1 + x2 + x3;
        }
        for (; i < window.Length; i++)
        {
            a += window[i];
            b += a;
        }
        return new RollingChecksum(a, b, window.Length);
    }

    public static uint Of(ReadOnlySpan<byte> window) => Compute(window).Value;

    /// <summary>Slides the window one byte: <paramref name="outgoing"/> leaves, <paramref name="incoming"/> enters.</summary>
    public void Roll(byte outgoing, byte incoming)
    {
        _a += (uint)incoming - outgoing;
        _b += _a - (_length * outgoing);
    }
}
