using Understudy.Core.Queue;

namespace Understudy.Agent.Replication;

/// <summary>
/// Queued records that stand for writes held back before they were queued (a file still open: Coalescer.MaxHold), with
/// when the first of those writes was made. The queue's own timestamp of such a record is when it was queued, up to
/// MaxHold later, so the age of the oldest change the target lacks (the true RPO, issue 17) takes the older of the two.
/// In memory only: after a restart the queue's timestamps are all there is. Thread-safe (the capture loop adds, status
/// readers ask).
/// </summary>
internal sealed class HeldRecords(TimeSpan maxHold)
{
    private readonly Queue<(long Seq, DateTimeOffset Since, DateTimeOffset QueuedAt)> _held = new();
    private readonly Lock _lock = new();

    public void Add(long seq, DateTimeOffset since, DateTimeOffset queuedAt)
    {
        lock (_lock)
            _held.Enqueue((seq, since, queuedAt));
    }

    /// <summary>When the first write held back for a record the target has not acknowledged was made (null: none).
    /// Records acknowledged, or gone from the queue (a reset), are forgotten.</summary>
    public DateTimeOffset? OldestUnacknowledged(QueueStats stats)
    {
        lock (_lock)
        {
            if (stats.PendingCount == 0)
            {
                _held.Clear();
                return null;
            }
            while (_held.TryPeek(out var h) && (h.Seq <= stats.AckedSeq || h.Seq > stats.LastSeq))
                _held.Dequeue();
            DateTimeOffset? oldest = null;
            foreach (var (_, since, queuedAt) in _held)
            {
                // Records are queued in order and each was held at most maxHold: none later can be older.
                if (oldest is { } o && queuedAt - maxHold > o)
                    break;
                if (oldest is null || since < oldest)
                    oldest = since;
            }
            return oldest;
        }
    }
}
