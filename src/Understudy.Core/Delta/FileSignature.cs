using System.IO.Hashing;

namespace Understudy.Core.Delta;

/// <summary>
/// Per-block checksums of a basis file: a rolling weak sum to find candidate positions fast and
/// a seeded XxHash128 to confirm them. 128 bits rather than XxHash3's 64: a false confirmation
/// silently writes wrong data, the signature is only 12% larger, and the hash runs at memory
/// speed either way. The random seed keeps a writer of source files from planting blocks that
/// collide with known target blocks (XxHash is fast, not collision-resistant to a chosen seed).
/// Every block has <see cref="BlockSize"/> bytes except possibly the last (<see cref="TailLength"/>).
/// </summary>
internal sealed partial class FileSignature
{
    private readonly uint[] _weak;
    private readonly UInt128[] _strong;

    internal FileSignature(int blockSize, long fileLength, long seed, uint[] weak, UInt128[] strong)
    {
        BlockSize = blockSize;
        FileLength = fileLength;
        Seed = seed;
        _weak = weak;
        _strong = strong;
    }

    public int BlockSize { get; }

    public long FileLength { get; }

    public long Seed { get; }

    public int BlockCount => _weak.Length;

    /// <summary>Length of the last block when it is shorter than <see cref="BlockSize"/>, else 0.</summary>
    public int TailLength => (int)(FileLength % BlockSize);

    /// <summary>Blocks of exactly <see cref="BlockSize"/> bytes; the rolling search only looks for these.</summary>
    public int FullBlockCount => (int)(FileLength / BlockSize);

    public uint Weak(int index) => _weak[index];

    public UInt128 Strong(int index) => _strong[index];

    public int LengthOf(long index) =>
        (int)Math.Min(BlockSize, FileLength - (index * BlockSize));

    public UInt128 StrongOf(ReadOnlySpan<byte> block) => XxHash128.HashToUInt128(block, Seed);

    /// <summary>Blocks needed for a file; throws when the count would not fit the format.</summary>
    public static int BlockCountFor(long fileLength, int blockSize)
    {
        long count = (fileLength + blockSize - 1) / blockSize;
        if (count > MaxBlockCount)
            throw new ArgumentOutOfRangeException(nameof(fileLength), "File too large for this block size.");
        return (int)count;
    }
}
