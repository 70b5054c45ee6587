using Understudy.Agent.Source;
using Understudy.Core.Protocol;

namespace Understudy.Agent.WriteOrder;

/// <summary>
/// Where PointSource.SendAsync writes a point's send stream: PointBegin before the first byte, then the bytes in
/// PointData frames of at most <see cref="Frame.DataChunk"/>. Disposing sends what is buffered but not PointEnd:
/// the stream cannot tell a whole point from one cut short, so the runner sends PointEnd once SendAsync returned
/// the point's record (or PointEnd with abort when it did not).
/// </summary>
internal sealed class PointFrameStream(SourceSession session, PointBegin begin) : Stream
{
    private readonly byte[] _buffer = new byte[Frame.DataChunk];
    private int _used;
    private bool _begun;

    public long BytesSent { get; private set; }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await BeginAsync(cancellationToken);
        while (buffer.Length > 0)
        {
            int n = Math.Min(buffer.Length, _buffer.Length - _used);
            buffer[..n].CopyTo(_buffer.AsMemory(_used));
            _used += n;
            buffer = buffer[n..];
            if (_used == _buffer.Length)
                await SendBufferedAsync(cancellationToken);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    private async ValueTask BeginAsync(CancellationToken ct)
    {
        if (_begun)
            return;
        _begun = true;
        await session.SendAsync(begin, ct);
    }

    private async ValueTask SendBufferedAsync(CancellationToken ct)
    {
        if (_used == 0)
            return;
        // WriteAsync serializes the frame before it returns, so the buffer may be reused at once.
        await session.SendAsync(new PointData(_buffer.AsMemory(0, _used)), ct);
        BytesSent += _used;
        _used = 0;
    }

    public override async ValueTask DisposeAsync()
    {
        try
        {
            if (_begun)
                await SendBufferedAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is IOException or Peer.PeerException or ObjectDisposedException or OperationCanceledException)
        {
            // the link is gone: the target drops the point it did not receive whole
        }
        await base.DisposeAsync();
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
