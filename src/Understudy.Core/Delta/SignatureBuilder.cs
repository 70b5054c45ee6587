using System.Buffers;
using System.IO.Hashing;
using System.Security.Cryptography;

namespace Understudy.Core.Delta;

internal static class SignatureBuilder
{
    private const int ReadChunk = 1024 * 1024;

    public static FileSignature Compute(ReadAt readAt, long length, CancellationToken cancellationToken = default) =>
        Compute(readAt, length, BlockSizing.For(length), NewSeed(), cancellationToken);

    public static FileSignature Compute(Stream stream, long length, CancellationToken cancellationToken = default) =>
        Compute(FileAccessors.Sequential(stream), length, cancellationToken);

    /// <summary>
    /// Reads exactly <paramref name="length"/> bytes; a basis that ends early has changed under
    /// us and yields <see cref="InvalidDeltaException"/> with BasisChanged set.
    /// </summary>
    public static FileSignature Compute(ReadAt readAt, long length, int blockSize, long seed, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(readAt);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, BlockSizing.MinAcceptedBlockSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(blockSize, BlockSizing.MaxBlockSize);

        int count = FileSignature.BlockCountFor(length, blockSize);
        var weak = new uint[count];
        var strong = new UInt128[count];
        int blocksPerChunk = Math.Max(1, ReadChunk / blockSize);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(blocksPerChunk * blockSize);
        try
        {
            long offset = 0;
            for (int first = 0; first < count; first += blocksPerChunk)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int want = (int)Math.Min((long)blocksPerChunk * blockSize, length - offset);
                int got = FileAccessors.ReadFull(readAt, buffer.AsSpan(0, want), offset);
                if (got != want)
                    throw new InvalidDeltaException($"Basis ended at {offset + got} bytes, expected {length}.", basisChanged: true);
                for (int i = first, at = 0; at < want; i++, at += blockSize)
                {
                    var block = buffer.AsSpan(at, Math.Min(blockSize, want - at));
                    weak[i] = RollingChecksum.Of(block);
                    strong[i] = XxHash128.HashToUInt128(block, seed);
                }
                offset += want;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return new FileSignature(blockSize, length, seed, weak, strong);
    }

    private static long NewSeed()
    {
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);
        return BitConverter.ToInt64(bytes);
    }
}
