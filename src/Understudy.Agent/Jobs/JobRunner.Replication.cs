using Understudy.Agent.Events;
using Understudy.Agent.Replication;
using Understudy.Agent.Replication.Capture;
using Understudy.Agent.Source;
using Understudy.Core.Jobs;
using Understudy.Core.Paths;
using Understudy.Core.Queue;

namespace Understudy.Agent.Jobs;

/// <summary>
/// Continuous replication, as the job sees it: the capture pipeline fills the job's durable queue; between commands
/// the runner hands its session to the replication loop (Replication/ReplicationLoop.cs), which sends the queue.
/// Here: the pipeline and its callbacks, pause and resume, the job's state while replicating, and anything that can
/// lose a change (overflow, a lost root, the queue limit) turned into a catch-up difference mirror.
/// </summary>
internal sealed partial class JobRunner
{
    private const string PausedReason = "paused by user ('understudy resume' continues)";

    private readonly CapturePipeline? _pipeline;

    /// <summary>The send side of continuous replication (Replication/ReplicationLoop.cs); null when replication is off
    /// or the job replicates write-order points (JobRunner.Points.cs).</summary>
    private readonly ReplicationLoop? _replication;

    /// <summary>What the target could not apply, resynced by the replication loop, or at the end of a mirror.</summary>
    private readonly MissingPaths _missing = new();
    private volatile bool _paused;
    private volatile bool _remirrorRequired;
    private string? _remirrorReason;
    private int _mirrorsQueued;

    /// <summary>A mirror command taken off the queue and not finished (RunAsync): no longer counted in
    /// <see cref="_mirrorsQueued"/>, which must drop at once so a catch-up asked for meanwhile is queued again.</summary>
    private bool _mirrorTaken;
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
            // The queue is unusable: drop it; the startup difference scan re-reads the tree, and takes every entry
            // changed since its oldest segment was made as changed (what the records stood for may show in ctimes only).
            _ctx.Events.Record(EventCode.QueueDamaged, Severity.Warning, "queue", Job.Name, $"replication queue damaged ({e.Message}); discarded, a difference mirror follows");
            var segments = Directory.GetFiles(dir, "*.seg");
            if (segments.Length > 0)
                Discarded(new DateTimeOffset(segments.Min(File.GetCreationTimeUtc)));
            Directory.Delete(dir, recursive: true);
            log = SegmentLog.Open(dir, new SegmentLogOptions { Time = _ctx.Time });
        }
        if (!log.Recovery.Clean)
        {
            // A torn tail after a crash was never durable; a record damaged at rest was, with every one after it: the
            // startup mirror takes entries changed since the first of them could have been queued as changed.
            _ctx.Events.Record(EventCode.QueueRecovered, Severity.Info, "queue", Job.Name,
                $"replication queue recovered at start: {log.Recovery.BytesDropped} bytes at the tail of its last segment dropped ({log.Recovery.Reason}); the startup difference mirror covers them");
            if (log.Recovery.DroppedSince is { } since)
                Discarded(since);
        }
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

    private ReplicationLoop CreateReplicationLoop(CapturePipeline pipeline) =>
        new(Job, pipeline, _missing, _wake, _ctx.Events, _ctx.Time)
        {
            Interrupted = () => _commands.Reader.Count > 0 || !ShouldReplicate,
            RequestCatchUp = RequestCatchUp,
            QueueWrite = QueueWrite,
            CaptureLost = OnCaptureLost,
            Replicating = () => SetState(JobState.Replicating, null),
        };

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
        _missing.Add(targetPath);
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
            await _missing.ResyncAsync(sender, _ctx.Time.GetUtcNow(), RequestCatchUp, ct);
            await session.BarrierAsync(0, ct);
            _missing.Confirmed();
        }
        if (_replication is null || startSeq <= 0)
            return;
        await _replication.MirrorCoveredAsync(session, startSeq, ct);
    }

    /// <summary>True when every captured change is durable on the target and nothing else is under way. The stages are
    /// looked at in the order a change travels (watchers, pipeline, queue), so one moving on meanwhile is still seen.</summary>
    public bool IsIdle =>
        Mirrored && !_paused && !_remirrorRequired && Volatile.Read(ref _mirrorsQueued) == 0 && !Volatile.Read(ref _mirrorTaken)
        && _commands.Reader.Count == 0
        && State is JobState.Replicating or JobState.InSync
        && _replication?.Idle != false
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
            st.AckedSeq, Math.Max(st.AckedSeq, _replication?.SentSeq ?? 0), st.LastSeq, Limiter.BytesPerSecond, Compression.ToString().ToLowerInvariant(), _paused, _remirrorRequired,
            _replication?.OpsSent ?? 0, BytesSent);
    }
}
