using System.Threading.Channels;
using Understudy.Agent.Common;
using Understudy.Agent.Events;
using Understudy.Agent.Failover;
using Understudy.Agent.Peer;
using Understudy.Agent.Replication;
using Understudy.Agent.Replication.Capture;
using Understudy.Agent.Source;
using Understudy.Core.Jobs;
using Understudy.Core.Protocol;
using Understudy.Core.Queue;

namespace Understudy.Agent.Jobs;

/// <summary>
/// Runs one source job: a single owned loop that executes commands (mirror, verify) one at a
/// time over the job's session and, between commands, replicates the change queue
/// (Replication/ReplicationLoop.cs, JobRunner.Replication.cs); it reconnects with back-off while the target is unreachable and
/// pauses (then resumes by itself) while the target's disk is full.
/// </summary>
internal sealed partial class JobRunner : IAsyncDisposable
{
    private readonly Channel<Command> _commands = Channel.CreateUnbounded<Command>();
    private readonly CancellationTokenSource _stop = new();
    private readonly AgentContext _ctx;
    private readonly WatcherOptions _watchers;
    private readonly Signal _wake = new();
    private readonly Task _loop;

    /// <summary>False once the job's command loop has ended while the runner lives (a dead loop; /metrics shows it). A
    /// stopped job has no loop.</summary>
    public bool LoopRunning => !_loop.IsCompleted;
    private SourceSession? _session;
    private bool _linkLost;

    private abstract record Command;

    /// <summary><paramref name="Settled"/>: the tree is known to match the target but for captured changes (after a
    /// fail-back's final sync), so ctimes since the capture point need not be compared.</summary>
    private sealed record MirrorCommand(MirrorMode Mode, string? Why, bool CatchUp, bool Settled = false) : Command;

    /// <param name="Scheduled">Run by verify.schedule (JobRunner.Schedule.cs); <paramref name="QueuedWhenStarted"/>: changes
    /// still queued when it was sent (it waited for an idle moment in vain).</param>
    private sealed record VerifyCommand(bool Checksum, bool Repair, TaskCompletionSource<VerifyReport> Done, bool Scheduled = false, long QueuedWhenStarted = 0) : Command;

    /// <summary>Not queued: what the loop does when no command waits.</summary>
    private sealed record ReplicateCommand : Command;

    /// <param name="stoppedSince">Set: the job is stopped (JobManager.StopAsync): nothing runs — no loop, no
    /// capture, no connection — but the queue is opened, so its status shows what stays queued.</param>
    /// <param name="verifySchedule">verify.schedule: the period of a scheduled verify, null for none.</param>
    /// <param name="watchers">How the capture watches the job's roots (the agent's, read once at start); null: the defaults.</param>
    public JobRunner(JobDefinition job, ReplicationSpec replication, AgentContext ctx, bool mirrored, bool paused = false, DateTimeOffset? stoppedSince = null,
        TimeSpan? verifySchedule = null, WatcherOptions? watchers = null)
    {
        _watchers = watchers ?? WatcherOptions.Default;
        Job = job;
        Replication = replication;
        _ctx = ctx;
        Mirrored = mirrored;
        _paused = paused;
        StoppedSince = stoppedSince;
        Limiter = new BandwidthLimiter(ctx.Time) { BytesPerSecond = replication.Bandwidth };
        Compression = replication.Compression;
        State = stoppedSince is not null ? JobState.Stopped : paused ? JobState.Paused : JobState.Connecting;
        Reason = stoppedSince is { } since ? StoppedReason(job.Name, since) : paused ? PausedReason : null;
        _wanted = (State, Reason);
        _writeOrder = replication.Consistency == Consistency.WriteOrder;
        if (replication.Enabled && !_writeOrder)
        {
            _pipeline = CreatePipeline();
            _replication = CreateReplicationLoop(_pipeline);
        }
        _loop = stoppedSince is null ? ctx.Loops.Run("replication", job.Name, RunAsync, _stop.Token, OnLoopFailed) : Task.CompletedTask;
        if (stoppedSince is null && SchedulePeriod(verifySchedule) is { } period)
            _verifySchedule = ctx.Loops.Run("verify-schedule", job.Name, c => ScheduleVerifiesAsync(period, c), _stop.Token);
    }

    public JobDefinition Job { get; }

    public ReplicationSpec Replication { get; }

    public JobState State { get; private set; }

    public string? Reason { get; private set; }

    public MirrorProgress? Progress { get; private set; }

    public bool Mirrored { get; private set; }

    public DateTimeOffset? LastMirrorAt { get; private set; }

    public VerifyReport? LastVerify { get; private set; }

    /// <summary>Non-null while the job is stopped by an operator (`understudy stop`), since when.</summary>
    public DateTimeOffset? StoppedSince { get; }

    public bool Stopped => StoppedSince is not null;

    private static string StoppedReason(string job, DateTimeOffset since) =>
        $"stopped by user at {since.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z: no mirror, replication or change capture ('understudy start {job}' starts it)";

    /// <summary>What a runner that replaces <paramref name="previous"/> (stop, start) still shows: the last mirror and verification.</summary>
    public void KeepHistoryOf(JobRunner previous)
    {
        LastMirrorAt = previous.LastMirrorAt;
        LastVerify = previous.LastVerify;
        if (previous.Progress is { FinishedAt: not null } done)
            Progress = done;
    }

    /// <exception cref="JobRequestException">409 while the job is stopped: a command would wait for a loop that does not run.</exception>
    private void ThrowIfStopped(string what)
    {
        if (Stopped)
            throw new JobRequestException($"job '{Job.Name}' is stopped: 'understudy start {Job.Name}' first, then {what}", 409);
    }

    /// <summary>Raised when the mirror completes or fails, so `wait` and tests can wait on a condition.</summary>
    public event Action<JobRunner>? Changed;

    /// <summary>Queues a mirror. <paramref name="catchUp"/>: it stands in for changes replication could not
    /// deliver, so it also removes what is gone from the source, whatever mirror.orphans says.</summary>
    public void RequestMirror(MirrorMode mode, string? why = null, bool catchUp = false, bool settled = false)
    {
        ThrowIfStopped("mirror");
        Interlocked.Increment(ref _mirrorsQueued);
        // Visible at once (a catch-up keeps the state that explains it): `understudy mirror` then `wait --until mirrored` must not see the previous mirror as this one.
        if (!catchUp)
            SetState(JobState.Mirroring, $"{mode.ToString().ToLowerInvariant()} mirror queued");
        _commands.Writer.TryWrite(new MirrorCommand(mode, why, catchUp, settled));
        _wake.Pulse();
    }

    public Task<VerifyReport> VerifyAsync(bool checksum, bool repair)
    {
        ThrowIfStopped("verify");
        var tcs = new TaskCompletionSource<VerifyReport>(TaskCreationOptions.RunContinuationsAsynchronously);
        _commands.Writer.TryWrite(new VerifyCommand(checksum, repair, tcs));
        _wake.Pulse();
        return tcs.Task;
    }

    private void SetState(JobState state, string? reason)
    {
        _wanted = (state, reason);
        Publish(state, reason);
    }

    /// <summary>Shows a state; while the target cannot write, its reason instead of any state that claims data moves (JobRunner.TargetStorage.cs).</summary>
    private void Publish(JobState state, string? reason)
    {
        if (_targetFault is { } fault && IsWorking(state))
            (state, reason) = (JobState.Error, fault);
        State = state;
        Reason = reason;
        Interlocked.Increment(ref _changes);
        Changed?.Invoke(this);
    }

    private async Task RunAsync(CancellationToken ct)
    {
        await Task.Yield();
        try
        {
            // Capture starts before anything is mirrored, so nothing between the walk and the watch is lost (once:
            // the supervisor runs this loop again after a failure, and capture has its own).
            if (!_captureStarted)
            {
                _captureStarted = true;
                _pipeline?.Start();
            }
            if (_loopFailed)
            {
                _loopFailed = false;
                SetState(RestState(), RestReason());
            }
            while (!ct.IsCancellationRequested)
            {
                var wake = _wake.Next;
                if (_commands.Reader.TryRead(out var cmd))
                {
                    if (cmd is not MirrorCommand)
                    {
                        await ExecuteWithRetryAsync(cmd, ct);
                        continue;
                    }
                    // Taken off the queue, not yet running: a catch-up keeps the state that explains it until
                    // MirrorAsync starts (after the session is made), so IsIdle looks at this flag in between.
                    Volatile.Write(ref _mirrorTaken, true);
                    Interlocked.Decrement(ref _mirrorsQueued);
                    try
                    {
                        await ExecuteWithRetryAsync(cmd, ct);
                    }
                    finally
                    {
                        Volatile.Write(ref _mirrorTaken, false);
                    }
                    continue;
                }
                if (ShouldReplicate)
                {
                    if (!await ExecuteWithRetryAsync(new ReplicateCommand(), ct))
                        await Task.WhenAny(wake, Task.Delay(TimeSpan.FromSeconds(10), _ctx.Time, ct));
                    continue;
                }
                if (State != JobState.Error || _paused)
                    SetState(RestState(), RestReason());
                await RestAsync(wake, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private bool _captureStarted;
    private volatile bool _loopFailed;

    /// <summary>The supervisor's word that this loop (or its capture) threw: state error with the reason until it runs again.</summary>
    private void OnLoopFailed(string reason)
    {
        _loopFailed = true;
        SetState(JobState.Error, reason);
    }

    /// <summary>Runs a command until it succeeds, a permanent error occurs (false), or the job stops.</summary>
    private async Task<bool> ExecuteWithRetryAsync(Command cmd, CancellationToken ct)
    {
        var delay = TimeSpan.FromMilliseconds(500);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                ProbeStorage();
                var session = await EnsureSessionAsync(ct);
                await ExecuteAsync(cmd, session, ct);
                return true;
            }
            catch (Exception thrown) when (thrown is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // A send can fail (broken pipe) just after the target said why it stopped: its reason wins.
                var e = _session?.Faulted is { IsFaulted: true } f && f.Exception?.InnerException is TargetException te ? te : thrown;
                await DropSessionAsync();
                if (PassiveGuard.Observe(e, _ctx, Job.Name))
                {
                    SetState(PassiveGuard.State, e.Message);
                    if (cmd is VerifyCommand pv)
                        pv.Done.TrySetException(e);
                    return false;
                }
                bool transient = e switch
                {
                    PeerException p => p.IsTransient,
                    TargetException t => t.IsTransient,
                    IOException or System.Net.Sockets.SocketException or OperationCanceledException => true,
                    _ => false,
                };
                if (e is DataDirException storage)
                {
                    OnStorageFault(storage.Message);
                }
                else if (e is TargetException { Code: ErrorCode.Io })
                {
                    OnTargetStorageFault(e.Message);
                }
                else if (e is QueueCorruptException damaged && _pipeline is not null)
                {
                    OnQueueDamaged(damaged);
                }
                else if (e is TargetException { Code: ErrorCode.NoSpace })
                {
                    if (State != JobState.Paused)
                        _ctx.Events.Record(EventCode.MirrorPausedDiskFull, Severity.Error, "mirror", Job.Name, $"paused: {e.Message}; resumes by itself when space returns");
                    SetState(JobState.Paused, e.Message.Contains("disk full", StringComparison.Ordinal) ? e.Message : $"target disk full: {e.Message}");
                }
                else if (transient)
                {
                    if (State is not (JobState.Disconnected or JobState.RemirrorRequired))
                        _ctx.Events.Record(EventCode.LinkLost, Severity.Warning, "link", Job.Name, $"target unreachable, retrying: {e.Message}");
                    _linkLost = true;
                    if (_remirrorRequired)
                        SetState(JobState.RemirrorRequired, $"{_remirrorReason}; a difference mirror runs when the target is back (retrying: {e.Message})");
                    else
                        SetState(JobState.Disconnected, $"retrying: {e.Message}");
                }
                else
                {
                    _ctx.Events.Record(EventCode.JobFailed, Severity.Error, "job", Job.Name, e.Message);
                    SetState(JobState.Error, e.Message);
                    if (cmd is VerifyCommand v)
                        v.Done.TrySetException(e);
                    return false;
                }
                // A pending command (e.g. a mirror after an overflow) replaces a replication retry.
                if (cmd is ReplicateCommand && _commands.Reader.Count > 0)
                    return true;
                await Task.Delay(delay, _ctx.Time, ct);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
        if (cmd is VerifyCommand vc)
            vc.Done.TrySetCanceled(ct);
        return false;
    }

    private async Task<SourceSession> EnsureSessionAsync(CancellationToken ct)
    {
        if (_session is { Faulted.IsCompleted: false })
            return _session;
        await DropSessionAsync();
        PassiveGuard.ThrowIfPassive(_ctx, Job.Name);
        _session = await SourceSession.OpenAsync(Job, _ctx, ct);
        if (_linkLost)
        {
            _linkLost = false;
            _ctx.Events.Record(EventCode.LinkRestored, Severity.Info, "link", Job.Name,
                $"target reachable again: reconnected; replication resumes after queue record {(long)_session.Opened.LastAppliedSeq}, the last the target applied");
        }
        _session.Connection.Compression = Compression;
        _session.Connection.Throttle = Limiter.WaitAsync;
        _session.Missing = OnMissing;
        _session.Acked = OnTargetAcked;
        StartSourceStatus(_session);
        return _session;
    }

    private async Task DropSessionAsync()
    {
        _replication?.SessionEnded();
        await StopSourceStatusAsync();
        if (_session is not null)
        {
            Interlocked.Add(ref _bytesSentBefore, _session.Connection.BytesSent);
            await _session.DisposeAsync();
            _session = null;
        }
    }

    private async Task ExecuteAsync(Command cmd, SourceSession session, CancellationToken ct)
    {
        switch (cmd)
        {
            case MirrorCommand m when _writeOrder:
                await PointMirrorAsync(m.Mode, m.Why, session, ct);
                break;
            case MirrorCommand m:
                await MirrorAsync(m.Mode, m.Why, m.CatchUp, thorough: false, session, ct, m.Settled);
                break;
            case ReplicateCommand when _writeOrder:
                await ShipPointsAsync(session, ct);
                break;
            case ReplicateCommand:
                await _replication!.RunAsync(session, ct);
                break;
            case VerifyCommand v:
                SetState(JobState.Verifying, v.Scheduled ? "scheduled verify (verify.schedule)" : null);
                var report = await VerifyEngine.RunAsync(Job, session, v.Checksum, _ctx.Time, ct);
                if (v.Repair && !report.Identical)
                {
                    _ctx.Events.Record(EventCode.VerifyRepairing, Severity.Info, "verify", Job.Name, $"repairing {report.Differences.Count} differences");
                    // A thorough mirror: it compares what the verify compared (xattrs, holes, hard-link groups too).
                    await MirrorAsync(v.Checksum ? MirrorMode.Checksum : MirrorMode.Different, "verify --repair", catchUp: false, thorough: true, session, ct);
                    report = await VerifyEngine.RunAsync(Job, session, v.Checksum, _ctx.Time, ct) with { Repaired = true };
                }
                report = report with { Scheduled = v.Scheduled };
                LastVerify = report;
                NoteVerifyEnded(report.At);
                RecordVerify(report, v);
                SetState(RestState(), RestReason());
                v.Done.TrySetResult(report);
                break;
        }
    }

    /// <summary>
    /// The mirror about to walk takes the records up to <paramref name="startSeq"/> as covered, acknowledged or not; a
    /// difference mirror sees what they stand for by size and mtime, but not an xattr change or a same-size rewrite
    /// that put the old mtime back (convergence seed 706: a catch-up after lost events covered both). Every entry
    /// changed (by its ctime) since the oldest unacknowledged record was queued, less the capture margin, counts as
    /// changed then. Null when nothing covered is unacknowledged; the oldest time there is when a record has none.
    /// </summary>
    private long? UnacknowledgedSinceNs(long startSeq)
    {
        if (_pipeline is not { } p || p.Log.AckedSeq >= startSeq)
            return null;
        foreach (var rec in p.Log.ReadFrom(p.Log.AckedSeq + 1))
        {
            if (rec.Seq > startSeq)
                break;
            return ReplicationRecord.TryDecode(rec.Payload.Span, out var r) && r.QueuedAtNs is { } t
                ? t - CapturePoint.Margin.Ticks * 100
                : long.MinValue;
        }
        return null;
    }

    /// <param name="over">The job as the mirror walks it, when not <see cref="Job"/> (a write-order base: the snapshot).</param>
    private async Task MirrorAsync(MirrorMode mode, string? why, bool catchUp, bool thorough, SourceSession session, CancellationToken ct, bool settled = false,
        JobDefinition? over = null)
    {
        var progress = new MirrorProgress(mode, _ctx.Time);
        Progress = progress;
        var name = mode.ToString().ToLowerInvariant();
        SetState(JobState.Mirroring, why is null ? $"{name} mirror" : $"{name} mirror: {why}");
        _ctx.Events.Record(EventCode.MirrorStarted, Severity.Info, "mirror", Job.Name, why is null ? $"{name} mirror started" : $"{name} mirror started: {why}");
        // A catch-up also takes every entry changed (by its ctime) since capture was last known durable as changed:
        // size and mtime do not show an xattr change, or a rewrite that put the old mtime back (CapturePoint).
        // Taken after MirrorStarting: a loss in between is then in the range (this mirror releases the point).
        // Any mirror releases it, so one asked for while events are lost takes the range too.
        var covering = _pipeline?.MirrorStarting();
        var inDoubt = settled ? null : catchUp || _pipeline?.Point?.LostInRun == true ? _pipeline?.Point?.InDoubt : null;
        long startSeq = BeginMirror();
        if (!settled && UnacknowledgedSinceNs(startSeq) is { } since)
            inDoubt = (Math.Min(since, inDoubt?.From ?? long.MaxValue), null);
        long? discarded = settled ? null : WithDiscarded(ref inDoubt);
        var engine = new MirrorEngine(over ?? (catchUp ? Job with { DeleteOrphans = true } : Job), session, _ctx.Events, progress)
        {
            Early = _pipeline is null ? null : new EarlyFeed(_pipeline.Log, startSeq),
            Thorough = thorough,
            ChangedSinceNs = inDoubt?.From,
            ChangedUntilNs = inDoubt?.Until,
        };
        await engine.RunAsync(ct);
        // A mirror's walk, manifest and plan (tens of MB for 100,000 entries) are garbage now, mostly in gen2,
        // which the GC would leave in place for a long while: the next mirror then peaked on top of them
        // (source VmHWM 144 MB after a full mirror of the benchmark's 50,000 files, 172 MB after the checksum
        // mirror that followed). Mirrors are rare; one full compacting collection that returns the memory is cheap.
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        _replication?.MirrorVanished(engine.Vanished);
        await EndMirrorAsync(session, startSeq, ct);
        _pipeline?.MirrorCovered(covering);
        DiscardCovered(discarded);
        progress.FinishedAt = _ctx.Time.GetUtcNow();
        progress.Phase = "complete";
        Mirrored = true;
        LastMirrorAt = progress.FinishedAt;
        _ctx.Events.Record(EventCode.MirrorCompleted, Severity.Info, "mirror", Job.Name,
            $"mirror complete: {progress.FilesDone} files, {progress.BytesDone} bytes ({progress.BytesSent} sent), {progress.Skipped} skipped"
            + (engine.EarlySent > 0 ? $"; {engine.EarlySent} files written meanwhile sent ahead (the replay sends them again, in order)" : ""),
            new { files = progress.FilesDone, bytes = progress.BytesDone, sent = progress.BytesSent, skipped = progress.Skipped, sentAhead = engine.EarlySent });
        SaveRuntime();
        SetState(RestState(), RestReason());
    }

    /// <summary>Best effort: on a full data directory the old runtime stays (after a restart a job that looks unmirrored
    /// mirrors again: more work, never less); it is saved again when the directory heals (JobRunner.Storage.cs).</summary>
    private void SaveRuntime()
    {
        try
        {
            _ctx.Store.SaveJobRuntime(Job.Name, System.Text.Json.JsonSerializer.Serialize(new { mirrored = Mirrored, lastMirrorAt = LastMirrorAt, paused = _paused }));
        }
        catch (Microsoft.Data.Sqlite.SqliteException e)
        {
            _ctx.Events.Record(EventCode.SourceStorageFault, Severity.Warning, "job", Job.Name, $"the job's runtime state could not be stored: {e.Message}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        _commands.Writer.TryComplete();
        await _stop.CancelAsync();
        await _loop;
        await _verifySchedule;
        await DropSessionAsync();
        if (_pipeline is not null)
        {
            await _pipeline.DisposeAsync();
            _pipeline.Log.Dispose();
        }
        _replication?.Dispose();
        _points?.Dispose();
        _stop.Dispose();
    }
}
