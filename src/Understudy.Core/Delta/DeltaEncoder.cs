using System.Buffers;

namespace Understudy.Core.Delta;

/// <summary>An <see cref="IDeltaSink"/> that encodes instructions into a buffer, for the frame layer.</summary>
internal sealed class DeltaEncoder(IBufferWriter<byte> writer) : IDeltaSink
{
    public void Copy(long blockIndex, int blockCount) => DeltaInstruction.Copy(blockIndex, blockCount).Encode(writer);

    public void Literal(ReadOnlySpan<byte> data) => DeltaInstruction.LiteralOf(data).Encode(writer);

    public void Complete() => DeltaInstruction.Complete().Encode(writer);

    public void Hole(long length) => DeltaInstruction.HoleOf(length).Encode(writer);

    /// <summary>
    /// Decodes every complete instruction in <paramref name="source"/> into <paramref name="sink"/>;
    /// returns the bytes consumed (the caller keeps the rest for the next read).
    /// Malformed input throws <see cref="InvalidDeltaException"/>.
    /// </summary>
    public static int DecodeInto(ReadOnlySpan<byte> source, IDeltaSink sink)
    {
        int total = 0;
        while (true)
        {
            var status = DeltaInstruction.TryDecode(source[total..], out var instruction, out int consumed);
            if (status == OperationStatus.NeedMoreData)
                return total;
            if (status != OperationStatus.Done)
                throw new InvalidDeltaException($"Malformed delta instruction at byte {total}.");
            instruction.ApplyTo(sink);
            total += consumed;
        }
    }
}
