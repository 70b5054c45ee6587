namespace Understudy.Core.Delta;

/// <summary>
/// Shapes the generator's output for the sink: consecutive block copies become one
/// instruction, literals are cut into chunks of at most <see cref="DeltaInstruction.MaxLiteralLength"/>.
/// </summary>
internal sealed class DeltaSinkWriter(IDeltaSink sink)
{
    private long _copyStart = -1;
    private int _copyCount;

    public long LiteralBytes { get; private set; }

    public long CopiedBlocks { get; private set; }

    public long CopyInstructions { get; private set; }

    /// <summary>The block that would extend the pending copy, or -1.</summary>
    public long NextExpectedBlock => _copyStart < 0 ? -1 : _copyStart + _copyCount;

    public void Copy(int block)
    {
        CopiedBlocks++;
        if (_copyStart >= 0 && block == _copyStart + _copyCount)
        {
            _copyCount++;
            return;
        }
        FlushCopy();
        _copyStart = block;
        _copyCount = 1;
    }

    public void Literal(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
            return;
        FlushCopy();
        LiteralBytes += data.Length;
        while (data.Length > 0)
        {
            int n = Math.Min(data.Length, DeltaInstruction.MaxLiteralLength);
            sink.Literal(data[..n]);
            data = data[n..];
        }
    }

    public void Hole(long length)
    {
        FlushCopy();
        sink.Hole(length);
    }

    public void Complete()
    {
        FlushCopy();
        sink.Complete();
    }

    private void FlushCopy()
    {
        if (_copyStart < 0)
            return;
        sink.Copy(_copyStart, _copyCount);
        CopyInstructions++;
        _copyStart = -1;
        _copyCount = 0;
    }
}
