using System.Buffers;
using System.IO.Hashing;

namespace Understudy.Core.Delta;

/// <summary>
/// Rebuilds the new file from the basis plus instructions, writing sequentially through
/// <see cref="WriteAt"/> (normally into a temp file the caller renames after fsync). Every
/// instruction is checked before anything is written for it. Given the signature, each copied
/// block is re-hashed, so a basis that changed after its signature was taken is caught
/// (<see cref="InvalidDeltaException.BasisChanged"/>) instead of producing a wrong file.
/// </summary>
internal sealed class DeltaApplier : IDeltaSink
{
    private readonly int _blockSize;
    private readonly long _basisLength;
    private readonly long _blockCount;
    private readonly FileSignature? _signature;
    private readonly ReadAt _readBasis;
    private readonly WriteAt _write;

    public DeltaApplier(FileSignature signature, ReadAt readBasis, WriteAt write)
        : this(signature.BlockSize, signature.FileLength, readBasis, write) => _signature = signature;

    public DeltaApplier(int blockSize, long basisLength, ReadAt readBasis, WriteAt write)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(basisLength);
        _blockSize = blockSize;
        _basisLength = basisLength;
        _blockCount = (basisLength + blockSize - 1) / blockSize;
        _readBasis = readBasis ?? throw new ArgumentNullException(nameof(readBasis));
        _write = write ?? throw new ArgumentNullException(nameof(write));
    }

    /// <summary>Bytes of the new file written so far; its length once <see cref="IsComplete"/>.</summary>
    public long BytesWritten { get; private set; }

    public bool IsComplete { get; private set; }

    public void Copy(long blockIndex, int blockCount)
    {
        EnsureOpen();
        if (blockIndex < 0 || blockCount < 1 || blockIndex >= _blockCount || blockCount > _blockCount - blockIndex)
            throw new InvalidDeltaException($"Copy of blocks {blockIndex}+{blockCount} is outside the basis ({_blockCount} blocks).");
        EnsureRoom(Math.Min((blockIndex + blockCount) * _blockSize, _basisLength) - (blockIndex * _blockSize));

        int blocksPerChunk = Math.Max(1, (256 * 1024) / _blockSize);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(blocksPerChunk * _blockSize);
        try
        {
            long block = blockIndex;
            long endBlock = blockIndex + blockCount;
            while (block < endBlock)
            {
                int blocks = (int)Math.Min(blocksPerChunk, endBlock - block);
                long offset = block * _blockSize;
                int length = (int)Math.Min((long)blocks * _blockSize, _basisLength - offset);
                var chunk = buffer.AsSpan(0, length);
                if (FileAccessors.ReadFull(_readBasis, chunk, offset) != length)
                    throw new InvalidDeltaException($"Basis ended before block {block + blocks}.", basisChanged: true);
                if (_signature is not null)
                    Verify(chunk, block);
                _write(chunk, BytesWritten);
                BytesWritten += length;
                block += blocks;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public void Literal(ReadOnlySpan<byte> data)
    {
        EnsureOpen();
        if (data.IsEmpty || data.Length > DeltaInstruction.MaxLiteralLength)
            throw new InvalidDeltaException($"Literal of {data.Length} bytes; 1 to {DeltaInstruction.MaxLiteralLength} allowed.");
        EnsureRoom(data.Length);
        _write(data, BytesWritten);
        BytesWritten += data.Length;
    }

    /// <summary>Writes nothing: the caller's new file was made at its full size, so the range reads as zeros and
    /// stays unallocated. The caller checks that <see cref="BytesWritten"/> stays within that size.</summary>
    public void Hole(long length)
    {
        EnsureOpen();
        if (length < 1 || length > long.MaxValue - BytesWritten)
            throw new InvalidDeltaException($"Hole of {length} bytes at {BytesWritten}.");
        BytesWritten += length;
    }

    public void Complete()
    {
        EnsureOpen();
        IsComplete = true;
    }

    private void Verify(ReadOnlySpan<byte> chunk, long firstBlock)
    {
        for (int at = 0; at < chunk.Length; at += _blockSize)
        {
            var block = chunk.Slice(at, Math.Min(_blockSize, chunk.Length - at));
            int index = (int)(firstBlock + (at / _blockSize));
            if (XxHash128.HashToUInt128(block, _signature!.Seed) != _signature.Strong(index))
                throw new InvalidDeltaException($"Basis block {index} changed since its signature was taken.", basisChanged: true);
        }
    }

    /// <summary>Data must end at an offset a long can hold: after a hole up to the largest one, the caller's own
    /// check of a write (offset + length against the file's size) would wrap round and pass.</summary>
    private void EnsureRoom(long length)
    {
        if (length > long.MaxValue - BytesWritten)
            throw new InvalidDeltaException($"{length} bytes at offset {BytesWritten} end past the largest file offset.");
    }

    private void EnsureOpen()
    {
        if (IsComplete)
            throw new InvalidDeltaException("Instruction after the end of the delta.");
    }
}
