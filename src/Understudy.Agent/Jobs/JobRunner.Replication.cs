using System.Collections.Concurrent;
using System.Text;
using Understudy.Agent.Events;
using Understudy.Agent.Replication;
using Understudy.Agent.Replication.Capture;
using Understudy.Agent.Source;
using Understudy.Core.Jobs;
using Understudy.Core.Paths;
using Understudy.Core.Queue;

namespace Understudy.Agent.Jobs;

/// <summary>
/// Continuous replication: the capture pipeline fills the job's durable queue; between commands
/// the runner sends queued records in order, puts a barrier after each run of them and trims
/// the queue as the target acknowledges (only what is durable there). Anything that can lose a
/// change (overflow, a lost root, the queue limit) becomes a catch-up difference mirror.
/// </summary>
internal sealed partial class JobRunner
{
    private const string PausedReason = "paused by user ('understudy resume' continues)";
    private const int BarrierEvery = 256;

    /// <summary>At most one difference mirror confirming resyncs per this interval (under continuous churn).</summary>
    private static readonly TimeSpan ResyncConfirmEvery = TimeSpan.FromSeconds(10);

    /// <summary>How long a resynced path is remembered: failing again within it, its parent is resynced instead.</summary>
    private static readonly TimeSpan ResyncMemory = TimeSpan.FromSeconds(30);

    private readonly CapturePipeline? _pipeline;
    private readonly ConcurrentQueue<string> _missing = new();
    private readonly Dictionary<RelPath, DateTimeOffset> _resynced = [];
    private readonly List<string> _unconfirmedResyncs = [];
    private readonly List<RelPath> _mirrorVanished = [];
    private DateTimeOffset? _confirmResyncAt;
    private DateTimeOffset _lastResyncConfirm = DateTimeOffset.MinValue;
    private ReplicationSender? _sender;
    private SourceSession? _senderSession;
    private volatile bool _paused;
    private volatile bool _remirrorRequired;
    private string? _remirrorReason;
    private int _mirrorsQueued;

    /// <summary>A mirror command taken off the queue and not finished (RunAsync): no longer counted in
    /// <see cref="_mirrorsQueued"/>, which must drop at once so a catch-up asked for meanwhile is queued again.</summary>
    private bool _mirrorTaken;
    private long _nextSeq = 1;
    private long _lastBarrier;
    private long _barrierInFlight;
    private long _opsSent;
    private volatile bool _resending;
    private Task? _resendConfirm;
    private long _bytesSentBefore;

    /// <summary>Bytes this job has sent over all its sessions since the agent started (frames, after compression).</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSentBefore) + (_session?.Connection.BytesSent ?? 0);

    public BandwidthLimiter Limiter { get; }

    /// <summary>Applies to the next frames sent (changeable while running).</summary>
    public Compression Compression
    {
        get;
        set
        {
            field = value;
            if (_session is { } s)
                s.Connection.Compression = value;
        }
    }

    public bool Paused => _paused;

    private bool ShouldReplicate => (_pipeline is not null || _writeOrder) && Mirrored && !_paused && !_remirrorRequired;

    private string? PassiveReason => Failover.PassiveGuard.ReasonFor(_ctx, Job.Name);

    private JobState RestState() =>
        PassiveReason is not null ? Failover.PassiveGuard.State
        : _storageFault is not null ? JobState.Error
        : _paused ? JobState.Paused
        : _remirrorRequired ? JobState.RemirrorRequired
        : !Mirrored ? JobState.Connecting
        : _pipeline is not null || _writeOrder ? JobState.Replicating
        : JobState.InSync;

    private string? RestReason() =>
        PassiveReason is { } passive ? passive
        : _storageFault is { } storage ? storage
        : _paused ? PausedReason
        : _remirrorRequired ? $"{_remirrorReason}; a difference mirror runs when the target is reachable"
        : null;

    private CapturePipeline CreatePipeline()
    {
        var dir = Path.Combine(_ctx.DataDir, "queues", Job.Name);
        SegmentLog log;
        try
        {
            log = SegmentLog.Open(dir, new SegmentLogOptions { Time = _ctx.Time });
        }
        catch (QueueCorruptException e)
        {
            // The queue is unusable: drop it; the startup difference scan re-reads the tree.
            _ctx.Events.Record(EventCode.QueueDamaged, Severity.Warning, "queue", Job.Name, $"replication queue damaged ({e.Message}); discarded, a difference mirror follows");
            Directory.Delete(dir, recursive: true);
            log = SegmentLog.Open(dir, new SegmentLogOptions { Time = _ctx.Time });
        }
        if (!log.Recovery.Clean)
            _ctx.Events.Record(EventCode.QueueRecovered, Severity.Info, "queue", Job.Name, $"replication queue recovered after a crash: {log.Recovery.BytesDropped} torn bytes dropped ({log.Recovery.Reason})");
        return new CapturePipeline(Job, log, Replication.Coalesce, _ctx.Time)
        {
            Point = new CapturePoint(dir),
            Trace = _ctx.Events.Trace,
            QueueLimit = Replication.QueueLimit,
            MaxHold = Replication.MaxHold,
            WatcherOptions = _watchers,
            Appended = _wake.Pulse,
            Overflowed = OnCaptureLost,
            ResyncRequested = OnSubtreeResync,
            UnwatchedChanged = OnUnwatchedChanged,
            QueueUnwritable = OnQueueUnwritable,
            Loops = _ctx.Loops,
            LoopFailed = OnLoopFailed,
            QueueLimitExceeded = OnQueueLimit,
        };
    }

    private void OnCaptureLost(int root, RelPath path, string text)
    {
        _ctx.Events.Record(EventCode.CaptureLost, Severity.Warning, "capture", Job.Name, $"{text}; running a difference mirror of {Job.Roots[root].Path}",
            new { root = Job.Roots[root].Path, path = path.ToString() });
        RequestCatchUp($"catch-up after lost change events ({Job.Roots[root].Path})");
    }

    private void OnQueueLimit(long pending)
    {
        _remirrorReason = $"queue limit exceeded ({pending} bytes of changes pending > replication.queue_limit {JobValues.FormatSize(Replication.QueueLimit)})";
        _remirrorRequired = true;
        _ctx.Events.Record(EventCode.RemirrorRequired, Severity.Warning, "queue", Job.Name, $"re-mirror required: {_remirrorReason}; changes are no longer queued, a difference mirror runs when the target is reachable");
        if (State is JobState.Disconnected or JobState.Replicating)
            SetState(JobState.RemirrorRequired, RestReason());
        RequestCatchUp("queue limit exceeded");
    }

    /// <summary>A difference mirror that also removes what was deleted on the source; queued once.</summary>
    private void RequestCatchUp(string why)
    {
        if (Volatile.Read(ref _mirrorsQueued) > 0)
            return;
        RequestMirror(MirrorMode.Different, why, catchUp: true);
    }

    private void OnMissing(string targetPath)
    {
        _missing.Enqueue(targetPath);
        _wake.Pulse();
    }

    public void Pause()
    {
        if (_paused)
            return;
        _paused = true;
        SaveRuntime();
        _ctx.Events.Record(EventCode.ReplicationPaused, Severity.Info, "replication", Job.Name, "paused by user; changes keep being queued");
        SetState(JobState.Paused, PausedReason);
        _wake.Pulse();
    }

    public void Resume()
    {
        if (!_paused)
            return;
        _paused = false;
        SaveRuntime();
        _ctx.Events.Record(EventCode.ReplicationResumed, Severity.Info, "replication", Job.Name, "resumed by user");
        SetState(RestState(), RestReason());
        _wake.Pulse();
    }

    /// <summary>Records everything queued so far as covered by the mirror about to walk the tree.</summary>
    private long BeginMirror()
    {
        if (_pipeline is null)
            return 0;
        // First: on a data directory that refuses the write the mirror waits (storage fault), and capture stays
        // suspended meanwhile (what it drops, this mirror's walk sees).
        QueueWrite(_pipeline.Flush);
        _remirrorRequired = false;
        _pipeline.Suspended = false;
        return _pipeline.Log.Stats.LastSeq;
    }

    private async Task EndMirrorAsync(SourceSession session, long startSeq, CancellationToken ct)
    {
        // What the target could not apply during the walk (something in its way) is re-sent before the mirror counts as done.
        for (int round = 0; round < 3 && !_missing.IsEmpty; round++)
        {
            using var sender = new ReplicationSender(Job, session, _ctx.Events, _ctx.Time);
            await ResyncMissingAsync(sender, ct);
            await session.BarrierAsync(0, ct);
            _unconfirmedResyncs.Clear();
        }
        if (_pipeline is null || startSeq <= 0)
            return;
        // A barrier at startSeq: the target records it as applied, so a reconnect resumes after it.
        await session.BarrierAsync((ulong)startSeq, ct);
        if (startSeq > _pipeline.Log.AckedSeq)
            QueueWrite(() => _pipeline.Log.Acknowledge(startSeq));
        _nextSeq = Math.Max(_nextSeq, startSeq + 1);
    }

    private void ApplyAcks(SourceSession session, SegmentLog log)
    {
        long acked = Math.Min(session.AckedSeq, log.Stats.LastSeq);
        if (acked > log.AckedSeq)
            QueueWrite(() => log.Acknowledge(acked));
        _sender?.Acknowledged(acked); // durable on the target (the ack file's write is queued: AckedSeq lags)
    }

    private async Task ReplicateAsync(SourceSession session, CancellationToken ct)
    {
        var log = _pipeline!.Log;
        if (_sender is null || _senderSession != session)
        {
            DisposeSender();
            _sender = new ReplicationSender(Job, session, _ctx.Events, _ctx.Time);
            if (_senderMemory is { } remembered)
                _sender.Inherit(remembered);
            _senderMemory = null;
            _senderSession = session;
            // Resume after what the target says is durable there (its ack may have been lost in a cut).
            long applied = (long)session.Opened.LastAppliedSeq;
            if (applied > log.AckedSeq && applied <= log.Stats.LastSeq)
                QueueWrite(() => log.Acknowledge(applied));
            _nextSeq = log.AckedSeq + 1;
            _lastBarrier = log.AckedSeq;
            _barrierInFlight = 0;
            // Resyncs whose barrier was never acknowledged may have died with the last session: again.
            foreach (var p in _unconfirmedResyncs)
            {
                if (RelPath.TryCreate(Encoding.UTF8.GetBytes(p), out var tp))
                    _resynced.Remove(tp);
                _missing.Enqueue(p);
            }
            _unconfirmedResyncs.Clear();
        }
        _nextSeq = Math.Max(_nextSeq, log.AckedSeq + 1);
        // Files the last mirror found gone when it came to send them follow the renames queued after its walk.
        if (_mirrorVanished.Count > 0)
            _sender.NoteVanished(_mirrorVanished);
        SetState(JobState.Replicating, null);
        while (true)
        {
            var wake = _wake.Next;
            if (ct.IsCancellationRequested || _commands.Reader.Count > 0 || !ShouldReplicate)
                return;
            ApplyAcks(session, log);
            if (_resendConfirm is { IsCompletedSuccessfully: true })
            {
                _unconfirmedResyncs.Clear();
                _sender.ConfirmRechecks();
            }
            if (!_missing.IsEmpty)
            {
                // Re-sent entries carry no sequence number: a barrier of their own publishes them on the
                // target, and idle waits for its ack.
                _resending = true;
                await ResyncMissingAsync(_sender, ct);
                await _sender.FlushDirMetasAsync(ct);
                _resendConfirm = session.BarrierAsync((ulong)Math.Max(0, _nextSeq - 1), ct);
                _resending = false;
                // The resync read the source as it is now, while changes older than that were still to be sent: applied
                // after it, they may undo part of it without failing. Once they are sent, a difference mirror confirms.
                if (log.Stats.LastSeq >= _nextSeq || _pipeline.PendingEvents > 0)
                    _confirmResyncAt ??= Later(_ctx.Time.GetUtcNow(), _lastResyncConfirm + ResyncConfirmEvery);
            }
            int n = 0;
            foreach (var rec in log.ReadFrom(_nextSeq))
            {
                if (ReplicationRecord.TryDecode(rec.Payload.Span, out var r))
                    await _sender.SendAsync(r, rec.Seq, ct);
                else
                    OnCaptureLost(0, RelPath.Root, $"queue record {rec.Seq} is not readable");
                _nextSeq = rec.Seq + 1;
                if (++n % BarrierEvery == 0 || BarrierOverdue(session))
                {
                    await _sender.FlushDirMetasAsync(ct);
                    await session.SendBarrierAsync((ulong)rec.Seq, ct);
                    _lastBarrier = _barrierInFlight = rec.Seq;
                    _barrierSentAt = _ctx.Time.GetUtcNow();
                    ApplyAcks(session, log);
                    if (_commands.Reader.Count > 0 || !ShouldReplicate || session.Faulted.IsCompleted)
                        break;
                }
            }
            if (_nextSeq - 1 > _lastBarrier)
            {
                // Group commit: at most one barrier in flight. Each costs the target a flush and two
                // syncfs; one per small batch made syncfs the bottleneck (lag grew at 1,000 files/s with
                // a short coalescing window). Records sent meanwhile are applied and ride on the next
                // barrier, sent as soon as this one is acknowledged (the wait below includes its ack).
                if (session.AckedSeq >= _barrierInFlight)
                {
                    await _sender.FlushDirMetasAsync(ct);
                    await session.SendBarrierAsync((ulong)(_nextSeq - 1), ct);
                    _lastBarrier = _barrierInFlight = _nextSeq - 1;
                    _barrierSentAt = _ctx.Time.GetUtcNow();
                }
                else
                {
                    await session.FlushAsync(ct);
                }
            }
            if (_sender.LinksInDoubt && _nextSeq > log.Stats.LastSeq && _pipeline.PendingEvents == 0 && _missing.IsEmpty)
            {
                // Caught up: names of hard-linked files a walk may have missed while the tree changed are linked now.
                _resending = true;
                if (await _sender.RecheckLinksAsync(ct))
                {
                    await _sender.FlushDirMetasAsync(ct);
                    _resendConfirm = session.BarrierAsync((ulong)Math.Max(0, _nextSeq - 1), ct);
                }
                _resending = false;
            }
            using var waitCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var waits = new List<Task> { wake, session.Faulted, log.WaitForDurableAsync(_nextSeq, waitCts.Token) };
            if (_confirmResyncAt is { } due && _missing.IsEmpty && _nextSeq > log.Stats.LastSeq && _pipeline.PendingEvents == 0)
            {
                var now = _ctx.Time.GetUtcNow();
                if (now >= due)
                {
                    _confirmResyncAt = null;
                    _lastResyncConfirm = now;
                    RequestCatchUp("confirming what the target could not apply, resynced while older changes were still queued");
                    continue;
                }
                waits.Add(Task.Delay(due - now, _ctx.Time, waitCts.Token));
            }
            // Compared with the queue's ack point, not the session's: an ack that arrived since the last
            // ApplyAcks completes this wait at once instead of being missed.
            if (log.AckedSeq < _lastBarrier)
                waits.Add(session.AckedAsync((ulong)_lastBarrier));
            if (session.AckedSeq < _barrierInFlight)
                waits.Add(session.AckedAsync((ulong)_barrierInFlight));
            if (!_missing.IsEmpty)
                waits.Add(Task.CompletedTask);
            await Task.WhenAny(waits);
            await waitCts.CancelAsync();
            if (session.Faulted.IsCompleted)
                await session.Faulted;
        }
    }

    /// <summary>What the last sender knew beyond the queue (<see cref="ReplicationSender.Memory"/>): the next one starts from it.
    /// Not kept across an agent restart: the startup difference mirror stands for it then.</summary>
    private ReplicationSender.Memory? _senderMemory;

    private void DisposeSender()
    {
        if (_sender is not null)
        {
            Interlocked.Add(ref _opsSent, _sender.OpsSent);
            _senderMemory = _sender.Remembered();
            _sender.Dispose();
            _sender = null;
        }
    }

    /// <summary>
    /// The target could not apply operations to these paths (nothing there, or something in the way): each is
    /// brought up to date as it is now by a difference mirror of it (<see cref="ReplicationSender.ResyncAsync"/>).
    /// They go as one difference mirror (a file renamed between two of them is moved, not sent again); a path below
    /// another one reported at the same time is covered by it. A path that fails again soon after its
    /// own resync has something above it in the way: its parent is resynced instead, and above the root a
    /// catch-up mirror of the job runs, so no failure is retried for ever.
    /// </summary>
    private async Task ResyncMissingAsync(ReplicationSender sender, CancellationToken ct)
    {
        var now = _ctx.Time.GetUtcNow();
        foreach (var (p, at) in _resynced.ToList())
        {
            if (now - at > ResyncMemory)
                _resynced.Remove(p);
        }
        var paths = new SortedSet<RelPath>();
        while (_missing.TryDequeue(out var missing))
        {
            _unconfirmedResyncs.Add(missing);
            if (!RelPath.TryCreate(Encoding.UTF8.GetBytes(missing), out var tp))
            {
                RequestCatchUp($"the target could not apply a change to {(missing.Length == 0 ? "its root" : missing)}");
                continue;
            }
            if (ResyncedAbove(tp) is { } again)
            {
                if (again.IsRoot)
                {
                    RequestCatchUp($"the target still could not apply a change to {tp} after re-sending it");
                    continue;
                }
                tp = again.Parent;
            }
            foreach (var name in sender.LaterNames(tp))
                paths.Add(name);
        }
        var scopes = new List<(int, RelPath)>();
        foreach (var tp in paths)
        {
            if (Covered(paths, tp))
                continue;
            _resynced[tp] = now;
            if (sender.TryMapTarget(tp, out int root, out var path))
                scopes.Add((root, path));
            else
                RequestCatchUp($"the target could not apply a change to {tp}");
        }
        if (scopes.Count > 0)
            await sender.ResyncAsync(scopes, ct);
    }

    /// <summary>True when a directory above <paramref name="p"/> is in <paramref name="paths"/> too.</summary>
    private static bool Covered(SortedSet<RelPath> paths, RelPath p)
    {
        for (var a = p; !a.IsRoot;)
        {
            a = a.Parent;
            if (paths.Contains(a))
                return true;
        }
        return false;
    }

    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    /// <summary>The highest recently resynced path at or above <paramref name="tp"/>, if any.</summary>
    private RelPath? ResyncedAbove(RelPath tp)
    {
        RelPath? found = null;
        foreach (var r in _resynced.Keys)
        {
            if (tp.IsUnder(r) && (found is not { } f || r.Length < f.Length))
                found = r;
        }
        return found;
    }

    /// <summary>True when every captured change is durable on the target and nothing else is under way. The stages are
    /// looked at in the order a change travels (watchers, pipeline, queue), so one moving on meanwhile is still seen.</summary>
    public bool IsIdle =>
        Mirrored && !_paused && !_remirrorRequired && Volatile.Read(ref _mirrorsQueued) == 0 && !Volatile.Read(ref _mirrorTaken)
        && _commands.Reader.Count == 0
        && State is JobState.Replicating or JobState.InSync
        && !_resending && _resendConfirm is null or { IsCompleted: true } && _confirmResyncAt is null && _sender?.LinksInDoubt != true
        && (!_writeOrder || PointsIdle)
        && (_pipeline is null || (_pipeline.WatchersQuiet && _pipeline.PendingEvents == 0 && _pipeline.Log.Stats.PendingCount == 0 && _missing.IsEmpty
            && _pipeline.Progress.All(p => p.IsReady)));

    public ReplicationView ReplicationStatus(DateTimeOffset now)
    {
        if (_pipeline is null)
            return new ReplicationView(false, null, null, 0, 0, null, 0, 0, 0, Limiter.BytesPerSecond, Compression.ToString().ToLowerInvariant(), _paused, false, 0, BytesSent);
        var st = _pipeline.Log.Stats;
        var progress = _pipeline.Progress;
        var unwatched = _pipeline.Unwatched.Select(u => Path.Join(Job.Roots[u.Root].Path, u.Path.ToString())).ToList();
        var watch = new WatchView(progress.Sum(p => p.DirectoriesWatched), progress.Sum(p => p.DirectoriesSeen),
            progress.Count > 0 && progress.All(p => p.IsReady), _pipeline.Error ?? progress.Select(p => p.LastError).FirstOrDefault(e => e is not null),
            unwatched.Count, unwatched.Count == 0 ? null : [.. unwatched.Take(20)]);
        // The oldest change not on the target, from the capture side: queued and unacknowledged (a record that stands for
        // writes held back counts from the first of them), or still held back as a file being written (issue 17).
        var oldest = st.OldestPendingTimestamp;
        if (_pipeline.OldestHeldQueued(st) is { } queued && (oldest is null || queued < oldest))
            oldest = queued;
        if (_pipeline.OldestHeld is { } held && (oldest is null || held < oldest))
            oldest = held;
        double? age = oldest is { } t ? Math.Round(Math.Max(0, (now - t).TotalSeconds), 3) : null;
        return new ReplicationView(true, _pipeline.Method, watch, st.PendingCount + _pipeline.PendingEvents, st.PendingBytes, age,
            st.AckedSeq, Math.Max(st.AckedSeq, Interlocked.Read(ref _nextSeq) - 1), st.LastSeq, Limiter.BytesPerSecond, Compression.ToString().ToLowerInvariant(), _paused, _remirrorRequired,
            Interlocked.Read(ref _opsSent) + (_sender?.OpsSent ?? 0), BytesSent);
    }
}
