using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Understudy.Core.Delta;

/// <summary>
/// Weak sum → candidate full-size blocks, as chained buckets in two flat int arrays (no
/// per-entry objects: millions of blocks must stay cheap). In front of it sits a bit filter
/// with ~32 bits per block, so that a miss, the common case while rolling over new data, costs
/// one multiply and one load, and only ~3% of positions reach the chains.
/// </summary>
internal sealed class BlockIndex
{
    /// <summary>Bounds the work per position when many blocks share a weak sum but differ.</summary>
    private const int MaxCandidates = 64;

    private readonly FileSignature _signature;
    private readonly int[] _heads;
    private readonly int[] _next;
    private readonly int _shift;
    private readonly ulong[] _filter;
    private readonly int _filterShift;

    public BlockIndex(FileSignature signature)
    {
        _signature = signature;
        int blocks = signature.FullBlockCount;
        int bits = Math.Max(4, BitOperations.Log2((uint)Math.Max(1, blocks)) + 2);
        _shift = 32 - bits;
        _heads = new int[1 << bits];
        Array.Fill(_heads, -1);
        _next = new int[blocks];
        int filterBits = Math.Clamp(BitOperations.Log2((uint)Math.Max(1, blocks)) + 6, 16, 28);
        _filterShift = 32 - filterBits;
        _filter = new ulong[1 << (filterBits - 6)];
        // Inserted back to front so chains list lower block indexes first.
        for (int i = blocks - 1; i >= 0; i--)
        {
            uint bucket = Bucket(signature.Weak(i));
            _next[i] = _heads[bucket];
            _heads[bucket] = i;
            uint bit = FilterBit(signature.Weak(i));
            _filter[bit >> 6] |= 1UL << (int)bit;
        }
    }

    public bool IsEmpty => _next.Length == 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool MayContain(uint weak)
    {
        uint bit = FilterBit(weak);
        return (_filter[bit >> 6] & (1UL << (int)bit)) != 0;
    }

    /// <summary>
    /// Rolls <paramref name="weak"/> forward from <paramref name="pos"/> until the window's weak
    /// sum may be in the index or the window starts at <paramref name="last"/>; returns the new
    /// window start. The hot loop of the generator over unmatched data, so it keeps its state
    /// in locals and skips bounds checks after one up-front check.
    /// </summary>
    public int Scan(ref RollingChecksum weak, ReadOnlySpan<byte> data, int pos, int last, int blockSize)
    {
        if (pos < 0 || last > data.Length - blockSize)
            throw new ArgumentOutOfRangeException(nameof(last));
        uint a = weak.A, b = weak.B, length = (uint)blockSize;
        ulong[] filter = _filter;
        int shift = _filterShift;
        ref byte d = ref MemoryMarshal.GetReference(data);
        while (pos < last)
        {
            uint outgoing = Unsafe.Add(ref d, pos);
            uint incoming = Unsafe.Add(ref d, pos + blockSize);
            a += incoming - outgoing;
            b += a - (length * outgoing);
            pos++;
            uint bit = (((a & 0xFFFF) | (b << 16)) * 0x9E3779B1u) >> shift;
            if ((filter[bit >> 6] & (1UL << (int)bit)) != 0)
                break;
        }
        weak = new RollingChecksum(a, b, blockSize);
        return pos;
    }

    /// <summary>
    /// The block whose content equals <paramref name="window"/>, or -1. <paramref name="expected"/>
    /// (the block after the previous match) wins ties, so unchanged runs stay one coalesced copy.
    /// </summary>
    public int Find(uint weak, ReadOnlySpan<byte> window, long expected)
    {
        UInt128 strong = default;
        bool haveStrong = false;
        if (expected >= 0 && expected < _next.Length && _signature.Weak((int)expected) == weak)
        {
            strong = _signature.StrongOf(window);
            haveStrong = true;
            if (_signature.Strong((int)expected) == strong)
                return (int)expected;
        }
        int seen = 0;
        for (int i = _heads[Bucket(weak)]; i >= 0 && seen < MaxCandidates; i = _next[i], seen++)
        {
            if (_signature.Weak(i) != weak)
                continue;
            if (!haveStrong)
            {
                strong = _signature.StrongOf(window);
                haveStrong = true;
            }
            if (_signature.Strong(i) == strong)
                return i;
        }
        return -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint Bucket(uint weak) => (weak * 2654435769u) >> _shift;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint FilterBit(uint weak) => (weak * 0x9E3779B1u) >> _filterShift;
}
