namespace Understudy.Agent.Peer;

/// <summary>
/// Sits between a socket stream and <see cref="System.Net.Security.SslStream"/>: reads from the
/// socket in large chunks and hands them out as SslStream asks. SslStream asks for one TLS record
/// (≤ 16 KiB) at a time, often in two pieces, so without this a 3.7 GiB mirror cost ~450,000
/// recvfrom calls on the target (strace -c); with it, a few per 256 KiB. Writes pass straight
/// through (SslStream already hands whole records), so the handshake is unaffected.
/// </summary>
internal sealed class ReadAheadStream(Stream inner, int bufferSize = 256 * 1024) : Stream
{
    private readonly byte[] _buffer = new byte[bufferSize];
    private int _start;
    private int _end;

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        if (destination.IsEmpty)
            return 0;
        if (_start == _end)
        {
            // A caller asking for at least a buffer's worth gains nothing from the copy.
            if (destination.Length >= _buffer.Length)
                return await inner.ReadAsync(destination, cancellationToken);
            _start = 0;
            _end = await inner.ReadAsync(_buffer, cancellationToken);
            if (_end == 0)
                return 0;
        }
        int n = Math.Min(destination.Length, _end - _start);
        _buffer.AsSpan(_start, n).CopyTo(destination.Span);
        _start += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
        inner.WriteAsync(source, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override void Flush() => inner.Flush();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            inner.Dispose();
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync();
        await base.DisposeAsync();
    }
}
