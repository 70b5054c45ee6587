namespace Understudy.Core.WriteOrder;

/// <summary>The target's durable record of where its replica is. <see cref="Applied"/>: the point the
/// replica equals (when <see cref="Received"/> is the same). <see cref="Received"/> = Applied + 1: that
/// point's stream is whole and durable in the journal and the replica is somewhere between the two,
/// at or past command <see cref="Next"/> (every command before it durable); a recovery redoes it from
/// there before anything may read the replica. <see cref="AppliedTakenNs"/> and <see cref="ReceivedTakenNs"/>: when the
/// source took those points' snapshots (Unix ns; 0 when not known): the RPO clock survives a restart.</summary>
internal readonly record struct PointState(long Applied, long Received, int Next, long AppliedTakenNs = 0, long ReceivedTakenNs = 0)
{
    public bool Pending => Received > Applied;
}
