using System.Numerics;
using System.Runtime.CompilerServices;

namespace Understudy.Core.Delta;

/// <summary>
/// Weak sum → candidate full-size blocks, as chained buckets in two flat int arrays (no
/// per-entry objects: millions of blocks must stay cheap). The bucket array is sized so that a
/// miss, the common case while rolling over new data, is one multiply and one load.
/// </summary>
internal sealed class BlockIndex
{
    /// <summary>Bounds the work per position when many blocks share a weak sum but differ.</summary>
    private const int MaxCandidates = 64;

    private readonly FileSignature _signature;
    private readonly int[] _heads;
    private readonly int[] _next;
    private readonly int _shift;

    public BlockIndex(FileSignature signature)
    {
        _signature = signature;
        int blocks = signature.FullBlockCount;
        int bits = Math.Max(4, BitOperations.Log2((uint)Math.Max(1, blocks)) + 2);
        _shift = 32 - bits;
        _heads = new int[1 << bits];
        Array.Fill(_heads, -1);
        _next = new int[blocks];
        // Inserted back to front so chains list lower block indexes first.
        for (int i = blocks - 1; i >= 0; i--)
        {
            uint bucket = Bucket(signature.Weak(i));
            _next[i] = _heads[bucket];
            _heads[bucket] = i;
        }
    }

    public bool IsEmpty => _next.Length == 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool MayContain(uint weak) => _heads[Bucket(weak)] >= 0;

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
}
