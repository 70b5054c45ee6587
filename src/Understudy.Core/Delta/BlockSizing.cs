namespace Understudy.Core.Delta;

/// <summary>
/// Chooses the block size of a signature the way rsync does: about the square root of the
/// file length, so the signature and the expected literal overhead both grow as sqrt(n).
/// </summary>
internal static class BlockSizing
{
    public const int MinBlockSize = 700;
    public const int MaxBlockSize = 128 * 1024;

    /// <summary>Smallest block size a peer's signature may declare; below it the signature
    /// would cost more than the data it describes.</summary>
    public const int MinAcceptedBlockSize = 16;

    public static int For(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length <= (long)MinBlockSize * MinBlockSize)
            return MinBlockSize;
        long root = (long)Math.Ceiling(Math.Sqrt(length));
        long rounded = (root + 7) & ~7L;
        return (int)Math.Min(rounded, MaxBlockSize);
    }
}
