using System.Buffers;
using System.Buffers.Binary;

namespace Understudy.Core.Delta;

/// <summary>
/// Wire form, little-endian: "USG1" | u32 block size | i64 file length | i64 seed |
/// block count × (u32 weak | u64 strong low | u64 strong high). The block count is implied by
/// the length and block size and must match the byte count exactly, so a peer cannot make us
/// allocate more than it actually sent.
/// </summary>
internal sealed partial class FileSignature
{
    public const int HeaderLength = 24;
    public const int EntryLength = 20;

    /// <summary>Keeps a parsed signature under ~2.7 GB and block indexes within int.</summary>
    public const int MaxBlockCount = 1 << 27;

    private static ReadOnlySpan<byte> Magic => "USG1"u8;

    public long SerializedLength => HeaderLength + ((long)BlockCount * EntryLength);

    public long Serialize(IBufferWriter<byte> writer)
    {
        var head = writer.GetSpan(HeaderLength);
        Magic.CopyTo(head);
        BinaryPrimitives.WriteInt32LittleEndian(head[4..], BlockSize);
        BinaryPrimitives.WriteInt64LittleEndian(head[8..], FileLength);
        BinaryPrimitives.WriteInt64LittleEndian(head[16..], Seed);
        writer.Advance(HeaderLength);

        const int EntriesPerChunk = 1024;
        for (int i = 0; i < BlockCount; i += EntriesPerChunk)
        {
            int n = Math.Min(EntriesPerChunk, BlockCount - i);
            var span = writer.GetSpan(n * EntryLength);
            for (int j = 0; j < n; j++)
            {
                var entry = span.Slice(j * EntryLength, EntryLength);
                BinaryPrimitives.WriteUInt32LittleEndian(entry, _weak[i + j]);
                BinaryPrimitives.WriteUInt64LittleEndian(entry[4..], (ulong)_strong[i + j]);
                BinaryPrimitives.WriteUInt64LittleEndian(entry[12..], (ulong)(_strong[i + j] >> 64));
            }
            writer.Advance(n * EntryLength);
        }
        return SerializedLength;
    }

    /// <summary>Parses a complete signature received from a peer; false when it is malformed or incomplete.</summary>
    public static bool TryParse(ReadOnlySequence<byte> data, out FileSignature? signature)
    {
        signature = null;
        if (data.Length < HeaderLength)
            return false;
        Span<byte> head = stackalloc byte[HeaderLength];
        data.Slice(0, HeaderLength).CopyTo(head);
        if (!head[..4].SequenceEqual(Magic))
            return false;
        int blockSize = BinaryPrimitives.ReadInt32LittleEndian(head[4..]);
        long fileLength = BinaryPrimitives.ReadInt64LittleEndian(head[8..]);
        long seed = BinaryPrimitives.ReadInt64LittleEndian(head[16..]);
        if (blockSize < BlockSizing.MinAcceptedBlockSize || blockSize > BlockSizing.MaxBlockSize || fileLength < 0)
            return false;
        long count = (fileLength / blockSize) + (fileLength % blockSize == 0 ? 0 : 1);
        if (count > MaxBlockCount || data.Length != HeaderLength + (count * EntryLength))
            return false;

        var weak = new uint[count];
        var strong = new UInt128[count];
        var reader = new SequenceReader<byte>(data.Slice(HeaderLength));
        for (int i = 0; i < count; i++)
        {
            reader.TryReadLittleEndian(out int w);
            reader.TryReadLittleEndian(out long lo);
            reader.TryReadLittleEndian(out long hi);
            weak[i] = (uint)w;
            strong[i] = new UInt128((ulong)hi, (ulong)lo);
        }
        signature = new FileSignature(blockSize, fileLength, seed, weak, strong);
        return true;
    }
}
