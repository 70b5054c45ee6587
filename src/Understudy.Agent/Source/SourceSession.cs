using System.Threading.Channels;
using Understudy.Agent.Common;
using Understudy.Agent.Peer;
using Understudy.Core.Paths;
using Understudy.Core.Protocol;
using Understudy.Core.Protocol.Control;

namespace Understudy.Agent.Source;

/// <summary>The target refused or failed an operation. <see cref="IsTransient"/>: worth retrying by itself (disk full, I/O).</summary>
internal sealed class TargetException(ErrorCode code, string message) : Exception(message)
{
    public ErrorCode Code { get; } = code;

    public bool IsTransient => Code is ErrorCode.NoSpace or ErrorCode.Io or ErrorCode.Busy;
}

/// <summary>
/// The source side of one job connection: sends operations and owns the one receive loop
/// that routes replies (manifest, signatures, acks) and turns a failure report into
/// <see cref="Faulted"/>, which every waiter observes — one way for the session to die.
/// </summary>
internal sealed class SourceSession : IAsyncDisposable
{
    private readonly Channel<Message> _replies = Channel.CreateUnbounded<Message>();
    private readonly CancellationTokenSource _cts;
    private readonly Task _receiveLoop;
    private readonly TaskCompletionSource _faulted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _acked;
    private readonly List<(ulong Seq, TaskCompletionSource Tcs)> _ackWaiters = [];

    // The target answers every barrier with one Ack, in the order it got them: a barrier waited for is done at the ack
    // with its own number in that order, not at any ack of its seq or later. Barriers with no record since the last
    // (a resync's, a hard-link recheck's) repeat its seq, so the ack of an earlier one matched them while what they
    // publish was still on its way (issue 16, seed 612000008: idle reported before a recheck's links were applied).
    private readonly SemaphoreSlim _barrierOrder = new(1, 1);
    private long _barriersSent; // under _barrierOrder
    private long _barriersAcked; // under _lock
    private readonly List<(long Ordinal, TaskCompletionSource Tcs)> _barrierWaiters = [];
    private readonly List<(long Point, TaskCompletionSource Tcs)> _pointWaiters = [];
    private long _pointApplied = -1;
    private readonly Lock _lock = new();

    private SourceSession(PeerConnection conn, JobOpened opened, CancellationToken ct)
    {
        Connection = conn;
        Opened = opened;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _receiveLoop = ReceiveLoopAsync(_cts.Token);
    }

    public PeerConnection Connection { get; }

    public JobOpened Opened { get; }

    /// <summary>Completes (with the exception) when the session has failed.</summary>
    public Task Faulted => _faulted.Task;

    public long AckedSeq => Interlocked.Read(ref _acked);

    /// <summary>Set by replication before sending: receives the path of an operation the target found nothing to apply to.</summary>
    public Action<string>? Missing { get; set; }

    /// <summary>Set before use: told of every acknowledgement, i.e. the target made something durable (on the receive loop).</summary>
    public Action? Acked { get; set; }

    /// <summary>Runs the source side over a connection opened the other way round (a restore: the target
    /// of the job sends, the passive source applies; docs/architecture.md, "Restore and fail-back").</summary>
    public static SourceSession Attach(PeerConnection conn, JobOpened opened, CancellationToken ct) => new(conn, opened, ct);

    /// <summary>Set before use: receives one-way ControlRequests from the peer (restore conflict reports).</summary>
    public Action<ControlRequest>? Control { get; set; }

    public static async Task<SourceSession> OpenAsync(JobDefinition job, AgentContext ctx, CancellationToken ct)
    {
        var conn = await PeerLink.ConnectAsync(job.TargetAddress, job.TargetId, ctx.Identity, ctx.AgentName, PeerHeartbeat.For(ctx), ct);
        conn.Job = job.Name;
        try
        {
            await conn.SendAsync(new OpenJob(job.Name, job.TargetPath, ctx.AgentName, job.JobJson), ct);
            using var reply = await conn.ReceiveAsync(ct) ?? throw new PeerException("target closed the connection", isTransient: true);
            return reply.Message switch
            {
                JobOpened o => new SourceSession(conn, o, ct),
                ErrorMessage e => throw new TargetException(e.Code, e.Text),
                var m => throw new ProtocolException($"expected JobOpened, got {m.Type}"),
            };
        }
        catch
        {
            await conn.DisposeAsync();
            throw;
        }
    }

    private async Task ReceiveLoopAsync(CancellationToken ct)
    {
        try
        {
            while (true)
            {
                using var frame = await Connection.ReceiveAsync(ct);
                if (frame is null)
                    throw new PeerException("target closed the connection", isTransient: true);
                switch (frame.Message)
                {
                    case Ack a:
                        OnAck(a.Seq);
                        break;
                    case PointApplied p:
                        OnPointApplied(p.Point);
                        break;
                    case ApplyFailed { Code: ErrorCode.NotFound } f when Missing is { } missing:
                        // Not fatal: a replayed rename, link or metadata change found nothing to act on;
                        // the replicator sends the entry itself instead.
                        missing(f.Path);
                        break;
                    case ApplyFailed f:
                        throw new TargetException(f.Code, f.Text);
                    case ErrorMessage e:
                        throw new TargetException(e.Code, e.Text);
                    case Pong:
                        break;
                    case ControlRequest c when Control is { } control:
                        control(c);
                        break;
                    case ManifestBatch or ManifestEnd or SignatureReply or ControlReply:
                        // The data of these is copied during decoding; safe to keep after the frame is released.
                        await _replies.Writer.WriteAsync(frame.Message, ct);
                        break;
                    default:
                        throw new ProtocolException($"unexpected {frame.Message.Type} frame from the target");
                }
            }
        }
        catch (Exception e)
        {
            _faulted.TrySetException(e is OperationCanceledException ? new PeerException("session closed", isTransient: true) : e);
            _replies.Writer.TryComplete(e);
            lock (_lock)
            {
                foreach (var (_, tcs) in _ackWaiters)
                    tcs.TrySetException(e);
                _ackWaiters.Clear();
                foreach (var (_, tcs) in _barrierWaiters)
                    tcs.TrySetException(e);
                _barrierWaiters.Clear();
                foreach (var (_, tcs) in _pointWaiters)
                    tcs.TrySetException(e);
                _pointWaiters.Clear();
            }
        }
    }

    private void OnAck(ulong seq)
    {
        lock (_lock)
        {
            if ((long)seq > _acked)
                Interlocked.Exchange(ref _acked, (long)seq);
            _ackWaiters.RemoveAll(w =>
            {
                if (w.Seq > seq)
                    return false;
                w.Tcs.TrySetResult();
                return true;
            });
            long acked = ++_barriersAcked;
            _barrierWaiters.RemoveAll(w =>
            {
                if (w.Ordinal > acked)
                    return false;
                w.Tcs.TrySetResult();
                return true;
            });
        }
        Acked?.Invoke();
    }

    private void OnPointApplied(long point)
    {
        lock (_lock)
        {
            if (point > _pointApplied)
                Interlocked.Exchange(ref _pointApplied, point);
            _pointWaiters.RemoveAll(w =>
            {
                if (w.Point != point)
                    return false;
                w.Tcs.TrySetResult();
                return true;
            });
        }
    }

    /// <summary>Write-order: the last point the target said it applied in this session (-1: none yet).</summary>
    public long PointAppliedSeq => Interlocked.Read(ref _pointApplied);

    /// <summary>Completes when the target answers PointApplied for <paramref name="point"/> (faults with the session).</summary>
    public Task PointAppliedAsync(long point)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (_pointApplied == point)
                return Task.CompletedTask;
            if (_faulted.Task.IsCompleted)
                return _faulted.Task;
            _pointWaiters.Add((point, tcs));
        }
        return tcs.Task;
    }

    public ValueTask SendAsync(Message m, CancellationToken ct) => Connection.WriteAsync(m, ct);

    public ValueTask FlushAsync(CancellationToken ct) => Connection.FlushAsync(ct);

    private async Task<Message> NextReplyAsync(CancellationToken ct)
    {
        try
        {
            return await _replies.Reader.ReadAsync(ct);
        }
        catch (ChannelClosedException e) when (e.InnerException is not null)
        {
            throw e.InnerException;
        }
    }

    public IAsyncEnumerable<ManifestItem> GetManifestAsync(RelPath subtree, bool withHashes, CancellationToken ct) =>
        GetManifestAsync(subtree, withHashes, withXattrs: false, ct);

    /// <param name="withXattrs">Each entry with the digests of its extended attributes (a verify, a repair).</param>
    public async IAsyncEnumerable<ManifestItem> GetManifestAsync(RelPath subtree, bool withHashes, bool withXattrs,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await Connection.SendAsync(new ManifestRequest(subtree, withHashes, withXattrs), ct);
        while (true)
        {
            switch (await NextReplyAsync(ct))
            {
                case ManifestBatch b:
                    foreach (var i in b.Items)
                        yield return i;
                    break;
                case ManifestEnd e:
                    if (e.Error is not null)
                        throw new TargetException(ErrorCode.Io, $"target could not list its tree: {e.Error}");
                    yield break;
                case var m:
                    throw new ProtocolException($"unexpected {m.Type} during a manifest");
            }
        }
    }

    public async Task<byte[]> GetSignatureAsync(RelPath path, CancellationToken ct)
    {
        await Connection.SendAsync(new SignatureRequest(path), ct);
        // A large file's signature spans several replies (SignatureReply.More).
        var parts = new SignatureChunks.Assembler(path);
        while (true)
        {
            if (await NextReplyAsync(ct) is not SignatureReply s)
                throw new ProtocolException("unexpected frame while waiting for a signature");
            if (parts.Add(s))
                return parts.ToArray();
        }
    }

    /// <summary>A request answered by one ControlReply; never while a manifest or signature is awaited.</summary>
    /// <exception cref="System.Text.Json.JsonException">The reply's body is not the verb's reply.</exception>
    public async Task<TReply> ControlAsync<TRequest, TReply>(ControlVerb<TRequest, TReply> verb, TRequest request, CancellationToken ct)
        where TRequest : class
        where TReply : class
    {
        await Connection.SendAsync(verb.Request(request), ct);
        var reply = await NextReplyAsync(ct) as ControlReply ?? throw new ProtocolException($"unexpected reply to {verb}");
        return verb.ReadReply(reply);
    }

    /// <summary>Sends a barrier and returns when the target has acknowledged it (made everything before it durable): its
    /// own ack, not that of an earlier barrier with the same <paramref name="seq"/>.</summary>
    public async Task BarrierAsync(ulong seq, CancellationToken ct)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await SendBarrierAsync(seq, tcs, ct);
        await tcs.Task.WaitAsync(ct);
    }

    /// <summary>Completes once a barrier at or after <paramref name="seq"/> is acknowledged (faults with the session).</summary>
    public Task AckedAsync(ulong seq)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if ((ulong)_acked >= seq)
                return Task.CompletedTask;
            if (_faulted.Task.IsCompleted)
                return _faulted.Task;
            _ackWaiters.Add((seq, tcs));
        }
        return tcs.Task;
    }

    /// <summary>Sends a barrier without waiting; the ack advances <see cref="AckedSeq"/> later.</summary>
    public Task SendBarrierAsync(ulong seq, CancellationToken ct) => SendBarrierAsync(seq, null, ct);

    private async Task SendBarrierAsync(ulong seq, TaskCompletionSource? waiter, CancellationToken ct)
    {
        await _barrierOrder.WaitAsync(ct);
        try
        {
            long ordinal = ++_barriersSent;
            if (waiter is not null)
            {
                lock (_lock)
                {
                    if (_faulted.Task.IsCompleted)
                        waiter.TrySetException(_faulted.Task.Exception?.InnerException ?? new PeerException("session closed", isTransient: true));
                    else
                        _barrierWaiters.Add((ordinal, waiter));
                }
            }
            await Connection.SendAsync(new Core.Protocol.Barrier(seq), ct);
        }
        finally
        {
            _barrierOrder.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _cts.CancelAsync();
            await Connection.DisposeAsync();
            await _receiveLoop;
        }
        finally
        {
            _cts.Dispose();
        }
    }
}
