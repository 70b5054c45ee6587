namespace Understudy.Core.WriteOrder;

/// <summary>The target's durable record of where its replica is. <see cref="Applied"/>: the point the
/// replica equals (when <see cref="Received"/> is the same). <see cref="Received"/> = Applied + 1: that
/// point's stream is whole and durable in the journal and the replica is somewhere between the two,
/// at or past command <see cref="Next"/> (every command before it durable); a recovery redoes it from
/// there before anything may read the replica.</summary>
internal readonly record struct PointState(long Applied, long Received, int Next)
{
    public bool Pending => Received > Applied;
}
