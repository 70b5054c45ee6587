using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Channels;
using K4os.Compression.LZ4;
using Understudy.Core.Jobs;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Peer;

/// <summary>
/// One authenticated peer link: frames over a TLS stream through System.IO.Pipelines.
/// Sends are serialized by the caller (one writer at a time); receives come from one reader.
/// Any protocol violation surfaces as <see cref="ProtocolException"/> from
/// <see cref="ReceiveAsync"/>; the owner then disposes the connection — the one way it dies.
/// A pump task reads, decrypts and decodes frames ahead of the consumer (a few MiB at most), so
/// the network side and the consumer's work (e.g. the target's writes to disk) overlap. Sending is
/// split the same way: frames go into a pipe (<see cref="SendPause"/> bytes at most) and a sender
/// task encrypts and writes them, so the source reads its next file while the last one is on the wire.
/// </summary>
internal sealed partial class PeerConnection : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly PipeReader _reader;
    private readonly PipeWriter _writer;
    private readonly Pipe _send = new(new PipeOptions(
        pool: new SendBufferPool(), pauseWriterThreshold: SendPause, resumeWriterThreshold: SendPause / 2,
        minimumSegmentSize: SendBufferPool.DefaultBlock, useSynchronizationContext: false));
    private readonly Task _sender;

    /// <summary>Bytes framed and not yet written to the socket at which a send waits for the sender task.</summary>
    internal const int SendPause = 2 * 1024 * 1024;
    private readonly ArrayBufferWriter<byte> _body = new(64 * 1024);
    private readonly SendBufferWriter _direct = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private long _bytesSent;
    private long _bytesReceived;
    private long _frameAt = System.Diagnostics.Stopwatch.GetTimestamp();
    private const int MaxCompressionSkip = 16;
    private int _skipStep; // under _sendLock, like the writer
    private int _skipLeft;
    private readonly Channel<IncomingFrame> _incoming = Channel.CreateBounded<IncomingFrame>(
        new BoundedChannelOptions(4) { SingleReader = true, SingleWriter = true });
    private readonly CancellationTokenSource _pumpStop = new();
    private int _disposed; // a session and the listener that accepted it may both dispose the connection
    private readonly Task _pump;

    public PeerConnection(Stream stream, string peerId)
    {
        _stream = stream;
        PeerId = peerId;
        _reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 256 * 1024, minimumReadSize: 64 * 1024, leaveOpen: true));
        _writer = _send.Writer;
        _pump = Task.Run(() => PumpAsync(_pumpStop.Token));
        _sender = Task.Run(SendLoopAsync);
    }

    /// <summary>Writes what the pipe holds to the TLS stream until the writer completes. A failure
    /// completes the pipe's reader with it, so the next flush of a send throws it (the link is dead).</summary>
    private async Task SendLoopAsync()
    {
        var reader = _send.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                var buffer = result.Buffer;
                foreach (var segment in buffer)
                    await _stream.WriteAsync(segment);
                // What a read returns ends at a frame boundary (frames are flushed whole): a heartbeat fits in here.
                bool beat = BeatDue;
                if (beat)
                    await _stream.WriteAsync(_beatFrame);
                if (!buffer.IsEmpty || beat)
                    await _stream.FlushAsync();
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                    break;
            }
            await reader.CompleteAsync();
        }
        catch (Exception e)
        {
            await reader.CompleteAsync(_silent ?? (e is IOException or ObjectDisposedException ? e : new IOException("send failed: " + e.Message, e)));
        }
    }

    /// <summary>The peer's agent ID (SHA-256 fingerprint of its certificate), established by TLS.</summary>
    public string PeerId { get; }

    public string PeerName { get; set; } = "";

    /// <summary>Applied to bulk-data frames this side sends.</summary>
    public Compression Compression { get; set; }

    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Bulk frames compression was tried on (the rest skipped it: <see cref="SkipCompression"/>).</summary>
    internal long CompressionTries { get; private set; }

    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    /// <summary>
    /// Since the peer's last whole frame arrived (a heartbeat too), or since the connection was made: what a returning
    /// source knows of its target (Failover/TargetContact). Only frames count, never this side's own stalls.
    /// </summary>
    public TimeSpan SinceLastFrame => System.Diagnostics.Stopwatch.GetElapsedTime(Volatile.Read(ref _frameAt));

    /// <summary>Frames buffered by <see cref="WriteAsync"/> are flushed once this many bytes wait.</summary>
    private const int BatchFlush = 512 * 1024;

    /// <summary>Throttle hook: awaited with the size of each frame before it is written (bandwidth limit).</summary>
    public Func<int, CancellationToken, ValueTask>? Throttle { get; set; }

    public ValueTask SendAsync(Message message, CancellationToken cancellationToken) => PutAsync(message, flush: true, cancellationToken);

    /// <summary>Buffers a frame without flushing; the next <see cref="SendAsync"/> or <see cref="FlushAsync"/> sends it.
    /// Lets a sender batch many small frames into few TLS records.</summary>
    public ValueTask WriteAsync(Message message, CancellationToken cancellationToken) => PutAsync(message, flush: false, cancellationToken);

    /// <summary>Frames <paramref name="message"/> under the send lock, throttled; flushed when asked, or when
    /// <see cref="BatchFlush"/> bytes wait unflushed.</summary>
    private async ValueTask PutAsync(Message message, bool flush, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            int n = WriteFrame(message);
            if (Throttle is { } t)
                await t(n, cancellationToken);
            if (flush || _writer.UnflushedBytes >= BatchFlush)
                await _writer.FlushAsync(cancellationToken);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            await _writer.FlushAsync(cancellationToken);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private int WriteFrame(Message message)
    {
        bool compress = Compression != Compression.None && IsBulk(message.Type) && !SkipCompression();
        if (message.BodySizeHint > 0 && !compress && WriteFrameDirect(message) is int direct and > 0)
            return direct;
        _body.ResetWrittenCount();
        message.Write(new WireWriter(_body));
        var body = _body.WrittenSpan;
        if (body.Length > Frame.MaxBody)
            throw new InvalidOperationException($"{message.Type} frame of {body.Length} bytes exceeds the maximum");
        byte flags = 0;
        if (compress && body.Length >= 1024)
        {
            var span = _writer.GetSpan(Frame.HeaderSize + 4 + FrameCompression.Bound(Compression, body.Length));
            int c = FrameCompression.Compress(Compression, body, span[(Frame.HeaderSize + 4)..]);
            CompressionTries++;
            NoteCompressed(body.Length, c);
            if (c > 0 && c + 4 < body.Length)
            {
                flags = Compression == Compression.Lz4 ? Frame.FlagLz4 : Frame.FlagZstd;
                System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(span[Frame.HeaderSize..], body.Length);
                Frame.WriteHeader(span, message.Type, flags, c + 4);
                _writer.Advance(Frame.HeaderSize + 4 + c);
                Interlocked.Add(ref _bytesSent, Frame.HeaderSize + 4 + c);
                return Frame.HeaderSize + 4 + c;
            }
        }
        var dest = _writer.GetSpan(Frame.HeaderSize + body.Length);
        Frame.WriteHeader(dest, message.Type, 0, body.Length);
        body.CopyTo(dest[Frame.HeaderSize..]);
        _writer.Advance(Frame.HeaderSize + body.Length);
        Interlocked.Add(ref _bytesSent, Frame.HeaderSize + body.Length);
        return Frame.HeaderSize + body.Length;
    }

    /// <summary>Serializes the body straight into the pipe's buffer behind a header slot, saving the
    /// staging copy of every data byte (the staged path copied each body twice: into the body
    /// buffer, then into the pipe). Returns 0 when the body outgrew its hint: nothing is advanced
    /// then, and the caller stages it as before.</summary>
    private int WriteFrameDirect(Message message)
    {
        int hint = Math.Min(message.BodySizeHint, Frame.MaxBody);
        var memory = _writer.GetMemory(Frame.HeaderSize + hint);
        _direct.Reset(memory[Frame.HeaderSize..]);
        message.Write(new WireWriter(_direct));
        if (_direct.Overflowed)
            return 0;
        int body = _direct.Written;
        Frame.WriteHeader(memory.Span, message.Type, 0, body);
        _writer.Advance(Frame.HeaderSize + body);
        Interlocked.Add(ref _bytesSent, Frame.HeaderSize + body);
        return Frame.HeaderSize + body;
    }

    /// <summary>
    /// Bulk frames that did not compress (saved under 1/32) make the next ones go uncompressed, 1, 2, 4 … up to 16
    /// frames, before one is tried again; a frame that compresses ends the back-off. Already compressed or encrypted
    /// data (media, archives, the benchmark's random files) then costs no compression attempt and takes the
    /// direct path (no staging copy); compressible data loses at most the frames of one back-off step.
    /// </summary>
    private bool SkipCompression()
    {
        if (_skipLeft == 0)
            return false;
        _skipLeft--;
        return true;
    }

    private void NoteCompressed(int length, int compressed)
    {
        if (compressed > 0 && compressed + 4 <= length - length / 32)
        {
            _skipStep = 0;
            return;
        }
        _skipStep = _skipStep == 0 ? 1 : Math.Min(_skipStep * 2, MaxCompressionSkip);
        _skipLeft = _skipStep;
    }

    private static bool IsBulk(MessageType t) =>
        t is MessageType.FileBegin or MessageType.FileData or MessageType.DeltaData or MessageType.ManifestBatch or MessageType.PointData;

    /// <summary>Reads the next frame. Returns null when the peer closed the connection cleanly between frames.</summary>
    public async ValueTask<IncomingFrame?> ReceiveAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (await _incoming.Reader.WaitToReadAsync(cancellationToken) && _incoming.Reader.TryRead(out var frame))
                return frame;
            return null;
        }
        catch (ChannelClosedException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }

    private async Task PumpAsync(CancellationToken ct)
    {
        try
        {
            while (await ReadFrameAsync(ct) is { } frame)
            {
                if (TakeHeartbeat(frame))
                    continue;
                try
                {
                    _handing = true; // waiting for this side's consumer is no silence of the peer
                    await _incoming.Writer.WriteAsync(frame, ct);
                }
                catch
                {
                    frame.Dispose();
                    throw;
                }
                finally
                {
                    _handing = false;
                    NoteHeard();
                }
            }
            _incoming.Writer.TryComplete();
        }
        catch (Exception e)
        {
            _incoming.Writer.TryComplete(_silent ?? (e is OperationCanceledException ? new IOException("connection closed", e) : e));
        }
    }

    private async ValueTask<IncomingFrame?> ReadFrameAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await _reader.ReadAsync(cancellationToken);
            NoteHeard();
            var buffer = result.Buffer;
            var parse = Frame.TryParse(ref buffer, out var type, out byte flags, out var body);
            if (parse == Frame.ParseResult.Complete)
            {
                var owned = Own(type, body, flags);
                Interlocked.Add(ref _bytesReceived, Frame.HeaderSize + body.Length);
                Volatile.Write(ref _frameAt, System.Diagnostics.Stopwatch.GetTimestamp());
                _reader.AdvanceTo(buffer.Start);
                try
                {
                    return new IncomingFrame(MessageCodec.Decode(type, owned.Memory), owned);
                }
                catch
                {
                    owned.Dispose();
                    throw;
                }
            }
            if (result.IsCompleted)
            {
                if (!buffer.IsEmpty)
                    throw new ProtocolException($"connection closed in the middle of a frame ({buffer.Length} bytes pending)");
                _reader.AdvanceTo(buffer.End);
                return null;
            }
            _reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>A FileData body's bytes before its data: offset (8) and data length (4). Received into
    /// a buffer where the data starts 4 KiB-aligned, so the target writes it with O_DIRECT as it is
    /// (<see cref="Core.Posix.TempFile"/>), without copying it into its aligned buffer first.</summary>
    private const int FileDataHeader = 12;

    internal static PooledBuffer Own(MessageType type, ReadOnlySequence<byte> body, byte flags)
    {
        if (flags == 0)
        {
            var b = type == MessageType.FileData && body.Length > FileDataHeader
                ? PooledBuffer.AlignedAfter(FileDataHeader, (int)body.Length)
                : new PooledBuffer((int)body.Length);
            body.CopyTo(b.Span);
            return b;
        }
        var packed = body.IsSingleSegment ? body.FirstSpan : body.ToArray();
        if (packed.Length < 4)
            throw new ProtocolException("compressed frame too short");
        int original = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(packed);
        if (original < 0 || original > Frame.MaxBody)
            throw new ProtocolException($"compressed frame claims {original} bytes, over the maximum");
        var outBuf = type == MessageType.FileData && original > FileDataHeader
            ? PooledBuffer.AlignedAfter(FileDataHeader, original)
            : new PooledBuffer(original);
        int n = FrameCompression.Decompress(flags == Frame.FlagLz4 ? Compression.Lz4 : Compression.Zstd, packed[4..], outBuf.Span);
        if (n != original)
        {
            outBuf.Dispose();
            throw new ProtocolException("compressed frame does not decompress to its stated size");
        }
        return outBuf;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        await _pumpStop.CancelAsync();
        try
        {
            await _writer.CompleteAsync(); // the sender writes what is still buffered, then ends
            await _sender.WaitAsync(TimeSpan.FromSeconds(5)); // not for ever on a peer that stopped reading
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or TimeoutException)
        {
        }
        try
        {
            await _stream.DisposeAsync(); // unblocks a pump waiting in a socket read, a sender in a write
            await _pump;
            await _sender;
            await _watch;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
        }
        while (_incoming.Reader.TryRead(out var left))
            left.Dispose();
        _pumpStop.Dispose();
        try
        {
            await _reader.CompleteAsync();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
        }
        _sendLock.Dispose();
    }
}
