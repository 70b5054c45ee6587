using Understudy.Agent.Source;

namespace Understudy.Agent.Replication;

/// <summary>
/// A barrier by time within one pass over the queue (issue 17). The pass reads records made durable while it runs, so
/// under a steady stream of changes whose sends take longer than they arrive (a big file written without pause:
/// one record per max_hold, each a block delta read whole) it never ends, and a barrier went only every
/// <see cref="BarrierEvery"/> records: at two records a second, one in two minutes, so nothing was acknowledged and
/// the oldest pending age grew for the whole run although the target had the data. Now a record sent once the
/// last barrier is acknowledged and at least <see cref="BarrierAfter"/> old is followed by a barrier, as at the end
/// of a pass (still at most one in flight).
/// </summary>
internal sealed partial class ReplicationLoop
{
    /// <summary>The most a pass over the queue goes on sending without a barrier while none is in flight.</summary>
    private static readonly TimeSpan BarrierAfter = TimeSpan.FromMilliseconds(500);

    private DateTimeOffset _barrierSentAt = DateTimeOffset.MinValue;

    private bool BarrierOverdue(SourceSession session) =>
        session.AckedSeq >= _barrierInFlight && time.GetUtcNow() - _barrierSentAt >= BarrierAfter;
}
