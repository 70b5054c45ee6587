using Understudy.Agent.Events;
using Understudy.Agent.Replication;
using Understudy.Core.Queue;

namespace Understudy.Agent.Jobs;

/// <summary>
/// Queue records lost unsent, and the catch-up that covers them. A queue segment found damaged while the agent runs (a
/// record whose CRC, length or sequence is wrong: bit rot, a stray write), when the replication loop, an
/// acknowledgement or a mirror reads it, used to fail the job (`error`, event 100), and every retry read the same bytes
/// again: replication stopped for good. Now the records not yet sent are given up (<see cref="SegmentLog.DiscardPending"/>:
/// nothing of the damaged segment stays), with event 891, and a catch-up difference mirror sends what they stood for.
/// That mirror, like the startup one after records were lost at start (a damaged queue discarded, event 420; a damaged
/// tail cut off, event 421: records damaged at rest were durable, and the capture point may have passed them), takes
/// every entry changed (by its ctime) since the first of them could have been queued as changed, as it does for
/// unacknowledged records (JobRunner.UnacknowledgedSinceNs): an xattr change, or a rewrite that put the old mtime
/// back, shows in nothing else.
/// </summary>
internal sealed partial class JobRunner
{
    /// <summary>The ctime (ns) from which the next catch-up takes entries as changed: records from then on were discarded
    /// unsent. Null when none were; long.MinValue when the oldest could not be read.</summary>
    private long? _discardedSinceNs;

    private void OnQueueDamaged(QueueCorruptException e)
    {
        if (_pipeline is not { } p)
            return;
        // Unknown when the oldest pending record is the damaged one: then every entry counts as changed.
        Discarded(p.Log.Stats.OldestPendingTimestamp ?? DateTimeOffset.MinValue);
        long discarded = 0;
        string outcome;
        try
        {
            QueueWrite(() => discarded = p.Log.DiscardPending());
            outcome = $"its {discarded} unsent records are discarded, and a difference mirror catches up what they stood for";
        }
        catch (DataDirException storage)
        {
            OnStorageFault(storage.Message);
            outcome = "it is discarded once the data directory can be written again, and a difference mirror catches up";
        }
        _ctx.Events.Record(EventCode.QueueDamagedWhileRunning, Severity.Warning, "queue", Job.Name,
            $"replication queue damaged ({e.Message}): {outcome}", new { discarded });
        RequestCatchUp("catch-up after the replication queue was found damaged");
    }

    /// <summary>Records queued at or after <paramref name="since"/> were lost unsent: the next catch-up takes every
    /// entry changed since then (less the capture margin) as changed.</summary>
    private void Discarded(DateTimeOffset since)
    {
        long ns = since == DateTimeOffset.MinValue ? long.MinValue
            : (since.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100 - CapturePoint.Margin.Ticks * 100;
        _discardedSinceNs = Math.Min(_discardedSinceNs ?? long.MaxValue, ns);
    }

    /// <summary>What the catch-up about to walk must take as changed beyond <paramref name="inDoubt"/>: also every
    /// entry changed since discarded records were queued. Returns the mark to pass to <see cref="DiscardCovered"/>.</summary>
    private long? WithDiscarded(ref (long From, long? Until)? inDoubt)
    {
        var discarded = _discardedSinceNs;
        if (discarded is { } d)
            inDoubt = (Math.Min(d, inDoubt?.From ?? long.MaxValue), null);
        return discarded;
    }

    /// <summary>A mirror that took <paramref name="mark"/> into account completed: the discarded records are covered.</summary>
    private void DiscardCovered(long? mark)
    {
        if (mark is not null && _discardedSinceNs == mark)
            _discardedSinceNs = null;
    }
}
