namespace Understudy.Core.Delta;

/// <summary>
/// Receives a delta in order. <see cref="Copy"/> names whole basis blocks (the last block of
/// the basis may be short); <see cref="Literal"/> carries at most
/// <see cref="DeltaInstruction.MaxLiteralLength"/> bytes, and the span is only valid during the call.
/// </summary>
internal interface IDeltaSink
{
    void Copy(long blockIndex, int blockCount);

    void Literal(ReadOnlySpan<byte> data);

    void Complete();
}
