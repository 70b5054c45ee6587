namespace Understudy.Core.Delta;

/// <summary>
/// Receives a delta in order. <see cref="Copy"/> names whole basis blocks (the last block of
/// the basis may be short); <see cref="Literal"/> carries at most
/// <see cref="DeltaInstruction.MaxLiteralLength"/> bytes, and the span is only valid during the call;
/// <see cref="Hole"/> skips over a hole of the new file.
/// </summary>
internal interface IDeltaSink
{
    void Copy(long blockIndex, int blockCount);

    void Literal(ReadOnlySpan<byte> data);

    void Complete();

    /// <summary><paramref name="length"/> bytes the source file has as a hole: zeros, which the target
    /// leaves unwritten (its new file is created at its full size, so they are a hole there too).</summary>
    void Hole(long length);
}
