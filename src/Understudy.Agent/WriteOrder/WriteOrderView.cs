namespace Understudy.Agent.WriteOrder;

/// <summary>A write-order job's consistency points in <c>status</c> (docs/cli.md): the point the target holds (applied
/// and synced there), when its snapshot was taken, the latest moment the source is known to have equalled it, and the
/// RPO clock (now minus that moment). On the source also the newest point taken and how many were shipped. Kept
/// here, below both the source's jobs and the target, since both report it.</summary>
internal sealed record WriteOrderView(long? PointApplied, string? PointTakenAt, string? ConsistentAsOf, double? AgeSeconds,
    long? PointLatest, long PointsShipped, long PointBytes);
