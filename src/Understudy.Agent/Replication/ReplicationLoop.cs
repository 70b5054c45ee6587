using Understudy.Agent.Events;
using Understudy.Agent.Source;
using Understudy.Core.Jobs;
using Understudy.Core.Paths;
using Understudy.Core.Queue;

namespace Understudy.Agent.Replication;

/// <summary>
/// Continuous replication of one job, the send side: the capture pipeline fills the job's durable queue; between the
/// job's commands (mirror, verify) its runner hands the session to <see cref="RunAsync"/>, which sends the queued
/// records in order, puts a barrier after each run of them and trims the queue as the target acknowledges (only what is
/// durable there). What the target could not apply is resynced (<see cref="MissingPaths"/>); anything that can lose a
/// change becomes a catch-up difference mirror, which the runner queues (<see cref="RequestCatchUp"/>). The loop owns
/// its sender (one per session, what it knew handed on to the next) and its place in the queue; the runner owns the
/// session, the job's state and the pipeline, and reads <see cref="Idle"/>, <see cref="SentSeq"/> and
/// <see cref="OpsSent"/> for its status.
/// </summary>
internal sealed partial class ReplicationLoop(JobDefinition job, CapturePipeline pipeline, MissingPaths missing, Signal wake, EventLog events, TimeProvider time)
    : IDisposable
{
    private const int BarrierEvery = 256;

    /// <summary>At most one difference mirror confirming resyncs per this interval (under continuous churn).</summary>
    private static readonly TimeSpan ResyncConfirmEvery = TimeSpan.FromSeconds(10);

    private readonly List<RelPath> _mirrorVanished = [];
    private DateTimeOffset? _confirmResyncAt;
    private DateTimeOffset _lastResyncConfirm = DateTimeOffset.MinValue;
    private ReplicationSender? _sender;
    private SourceSession? _senderSession;

    /// <summary>What the last sender knew beyond the queue (<see cref="ReplicationSender.Memory"/>): the next one starts from it.
    /// Not kept across an agent restart: the startup difference mirror stands for it then.</summary>
    private ReplicationSender.Memory? _senderMemory;
    private long _nextSeq = 1;
    private long _lastBarrier;
    private long _barrierInFlight;
    private long _opsSent;
    private volatile bool _resending;
    private Task? _resendConfirm;

    /// <summary>True when the loop should stop sending and hand the session back: a command waits, or the job should not
    /// replicate now (paused, a re-mirror required, stopping).</summary>
    public required Func<bool> Interrupted { get; init; }

    /// <summary>Queues a catch-up difference mirror of the job, with the reason (once: the runner ignores a second).</summary>
    public required Action<string> RequestCatchUp { get; init; }

    /// <summary>Runs a write to the job's queue (its ack point): the runner turns a refusal into its storage fault.</summary>
    public required Action<Action> QueueWrite { get; init; }

    /// <summary>A change was lost (a queue record that cannot be read): the runner records it and queues a catch-up.</summary>
    public required Action<int, RelPath, string> CaptureLost { get; init; }

    /// <summary>Told when the loop starts sending over a session (the job's state: replicating).</summary>
    public required Action Replicating { get; init; }

    /// <summary>The last queue record sent (acknowledged or not); before the first session, the one before
    /// the first record (status shows the larger of it and the queue's ack point).</summary>
    public long SentSeq => Interlocked.Read(ref _nextSeq) - 1;

    /// <summary>Operations sent over all sessions since the agent started.</summary>
    public long OpsSent => Interlocked.Read(ref _opsSent) + (_sender?.OpsSent ?? 0);

    /// <summary>Nothing under way on the send side beyond the queue: no resync being sent or waiting for its barrier,
    /// none to confirm by a mirror, no hard-link names in doubt.</summary>
    public bool Idle =>
        !_resending && _resendConfirm is null or { IsCompleted: true } && _confirmResyncAt is null && _sender?.LinksInDoubt != true;

    /// <summary>Files the last mirror found gone when it came to send them: they follow the renames queued after its walk.</summary>
    public void MirrorVanished(IEnumerable<RelPath> targetPaths) => _mirrorVanished.AddRange(targetPaths);

    /// <summary>A mirror that took the records up to <paramref name="startSeq"/> as covered has ended: a barrier at it
    /// (the target records it as applied, so a reconnect resumes after it), and sending goes on after it.</summary>
    public async Task MirrorCoveredAsync(SourceSession session, long startSeq, CancellationToken ct)
    {
        await session.BarrierAsync((ulong)startSeq, ct);
        if (startSeq > Log.AckedSeq)
            QueueWrite(() => Log.Acknowledge(startSeq));
        _nextSeq = Math.Max(_nextSeq, startSeq + 1);
    }

    /// <summary>The session ended: the sender goes, what it knew is kept for the next.</summary>
    public void SessionEnded()
    {
        if (_sender is not null)
        {
            Interlocked.Add(ref _opsSent, _sender.OpsSent);
            _senderMemory = _sender.Remembered();
            _sender.Dispose();
            _sender = null;
        }
    }

    public void Dispose() => SessionEnded();

    private SegmentLog Log => pipeline.Log;

    private void ApplyAcks(SourceSession session)
    {
        long acked = Math.Min(session.AckedSeq, Log.Stats.LastSeq);
        if (acked > Log.AckedSeq)
            QueueWrite(() => Log.Acknowledge(acked));
        _sender?.Acknowledged(acked); // durable on the target (the ack file's write is queued: AckedSeq lags)
    }

    /// <summary>A sender for <paramref name="session"/>: the one it has, or a new one that resumes after what the target
    /// says is durable there.</summary>
    private ReplicationSender SenderFor(SourceSession session)
    {
        if (_sender is not null && _senderSession == session)
            return _sender;
        SessionEnded();
        _sender = new ReplicationSender(job, session, events, time);
        if (_senderMemory is { } remembered)
            _sender.Inherit(remembered);
        _senderMemory = null;
        _senderSession = session;
        // Resume after what the target says is durable there (its ack may have been lost in a cut).
        long applied = (long)session.Opened.LastAppliedSeq;
        if (applied > Log.AckedSeq && applied <= Log.Stats.LastSeq)
            QueueWrite(() => Log.Acknowledge(applied));
        _nextSeq = Log.AckedSeq + 1;
        _lastBarrier = Log.AckedSeq;
        _barrierInFlight = 0;
        // Resyncs whose barrier was never acknowledged may have died with the last session: again.
        missing.RetryUnconfirmed();
        return _sender;
    }

    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
