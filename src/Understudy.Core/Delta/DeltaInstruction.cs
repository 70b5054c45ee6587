using System.Buffers;

namespace Understudy.Core.Delta;

internal enum DeltaOp : byte
{
    Copy = 1,
    Literal = 2,
    Complete = 3,
    Hole = 4,
}

/// <summary>
/// One delta instruction as it travels inside a frame. Encoding: a tag byte, then
/// Copy: LEB128 block index, LEB128 block count (≥ 1);
/// Literal: LEB128 length (1..65536), the bytes; Complete: nothing;
/// Hole: LEB128 length (≥ 1): that many zero bytes the source file has no data for (a hole), which the
/// target leaves unwritten, so they stay a hole there too.
/// Decoding checks shape and bounds that need no context (index within int, count ≥ 1, literal
/// size); the applier checks the rest against the basis. <see cref="Literal"/> points into the
/// decoded buffer and is valid only as long as that buffer is.
/// </summary>
internal readonly ref struct DeltaInstruction
{
    public const int MaxLiteralLength = 64 * 1024;

    /// <summary>Largest encoding of any one instruction (a full literal).</summary>
    public const int MaxEncodedLength = 1 + 3 + MaxLiteralLength;

    private const int MaxCopyEncodedLength = 1 + 5 + 5;

    private DeltaInstruction(DeltaOp op, long blockIndex, int blockCount, ReadOnlySpan<byte> literal)
    {
        Op = op;
        BlockIndex = blockIndex;
        BlockCount = blockCount;
        Literal = literal;
    }

    public DeltaOp Op { get; }

    public long BlockIndex { get; }

    public int BlockCount { get; }

    public ReadOnlySpan<byte> Literal { get; }

    public static DeltaInstruction Copy(long blockIndex, int blockCount) => new(DeltaOp.Copy, blockIndex, blockCount, default);

    public static DeltaInstruction LiteralOf(ReadOnlySpan<byte> data) => new(DeltaOp.Literal, 0, 0, data);

    public static DeltaInstruction Complete() => new(DeltaOp.Complete, 0, 0, default);

    /// <summary>A hole of <paramref name="length"/> bytes (carried in <see cref="BlockIndex"/>).</summary>
    public static DeltaInstruction HoleOf(long length) => new(DeltaOp.Hole, length, 0, default);

    public int EncodedLength => Op switch
    {
        DeltaOp.Copy => 1 + VarInt.Length((ulong)BlockIndex) + VarInt.Length((uint)BlockCount),
        DeltaOp.Literal => 1 + VarInt.Length((uint)Literal.Length) + Literal.Length,
        DeltaOp.Hole => 1 + VarInt.Length((ulong)BlockIndex),
        _ => 1,
    };

    /// <summary>Writes the instruction; <paramref name="destination"/> must hold <see cref="EncodedLength"/> bytes.</summary>
    public int Encode(Span<byte> destination)
    {
        destination[0] = (byte)Op;
        int n = 1;
        switch (Op)
        {
            case DeltaOp.Copy:
                if (BlockIndex is < 0 or > int.MaxValue || BlockCount < 1)
                    throw new ArgumentOutOfRangeException(nameof(BlockIndex), "Copy needs a block index within int and a count of at least 1.");
                n += VarInt.Write(destination[n..], (ulong)BlockIndex);
                n += VarInt.Write(destination[n..], (uint)BlockCount);
                break;
            case DeltaOp.Literal:
                if (Literal.IsEmpty || Literal.Length > MaxLiteralLength)
                    throw new ArgumentOutOfRangeException(nameof(Literal), "A literal carries 1 to 65536 bytes.");
                n += VarInt.Write(destination[n..], (uint)Literal.Length);
                Literal.CopyTo(destination[n..]);
                n += Literal.Length;
                break;
            case DeltaOp.Complete:
                break;
            case DeltaOp.Hole:
                if (BlockIndex < 1)
                    throw new ArgumentOutOfRangeException(nameof(BlockIndex), "A hole is at least one byte long.");
                n += VarInt.Write(destination[n..], (ulong)BlockIndex);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(Op));
        }
        return n;
    }

    public void Encode(IBufferWriter<byte> writer)
    {
        int length = EncodedLength;
        int n = Encode(writer.GetSpan(length));
        writer.Advance(n);
    }

    /// <summary>
    /// Decodes one instruction. NeedMoreData when <paramref name="source"/> ends inside it,
    /// InvalidData when it is malformed (then <paramref name="consumed"/> is 0).
    /// </summary>
    public static OperationStatus TryDecode(ReadOnlySpan<byte> source, out DeltaInstruction instruction, out int consumed)
    {
        instruction = default;
        consumed = 0;
        if (source.IsEmpty)
            return OperationStatus.NeedMoreData;
        int n = 1;
        switch ((DeltaOp)source[0])
        {
            case DeltaOp.Copy:
                {
                    var s = VarInt.TryRead(source[n..], out ulong index, out int used);
                    if (s != OperationStatus.Done)
                        return Partial(s, source.Length, MaxCopyEncodedLength);
                    n += used;
                    s = VarInt.TryRead(source[n..], out ulong count, out used);
                    if (s != OperationStatus.Done)
                        return Partial(s, source.Length, MaxCopyEncodedLength);
                    n += used;
                    if (index > int.MaxValue || count is < 1 or > int.MaxValue)
                        return OperationStatus.InvalidData;
                    instruction = Copy((long)index, (int)count);
                    break;
                }
            case DeltaOp.Literal:
                {
                    var s = VarInt.TryRead(source[n..], out ulong length, out int used);
                    if (s != OperationStatus.Done)
                        return Partial(s, source.Length, 1 + 3);
                    n += used;
                    if (length is < 1 or > MaxLiteralLength)
                        return OperationStatus.InvalidData;
                    if (source.Length - n < (int)length)
                        return OperationStatus.NeedMoreData;
                    instruction = LiteralOf(source.Slice(n, (int)length));
                    n += (int)length;
                    break;
                }
            case DeltaOp.Complete:
                instruction = Complete();
                break;
            case DeltaOp.Hole:
                {
                    var s = VarInt.TryRead(source[n..], out ulong length, out int used);
                    if (s != OperationStatus.Done)
                        return Partial(s, source.Length, 1 + 10);
                    n += used;
                    if (length is < 1 or > long.MaxValue)
                        return OperationStatus.InvalidData;
                    instruction = HoleOf((long)length);
                    break;
                }
            default:
                return OperationStatus.InvalidData;
        }
        consumed = n;
        return OperationStatus.Done;
    }

    /// <summary>Hands the instruction to <paramref name="sink"/>.</summary>
    public void ApplyTo(IDeltaSink sink)
    {
        switch (Op)
        {
            case DeltaOp.Copy:
                sink.Copy(BlockIndex, BlockCount);
                break;
            case DeltaOp.Literal:
                sink.Literal(Literal);
                break;
            case DeltaOp.Complete:
                sink.Complete();
                break;
            case DeltaOp.Hole:
                sink.Hole(BlockIndex);
                break;
            default:
                throw new InvalidOperationException("Empty instruction.");
        }
    }

    /// <summary>A truncated varint is only "need more" while the instruction could still be complete-able.</summary>
    private static OperationStatus Partial(OperationStatus status, int available, int maxLength) =>
        status == OperationStatus.NeedMoreData && available >= maxLength ? OperationStatus.InvalidData : status;
}
