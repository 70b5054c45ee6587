namespace Understudy.Core.Api;

/// <summary>A write-order job's consistency points in <c>status</c> (docs/cli.md): the point the target holds (applied
/// and synced there), when its snapshot was taken, the latest moment the source is known to have equalled it, and the
/// RPO clock (now minus that moment). On the source also the newest point taken and how many were shipped.</summary>
internal sealed record WriteOrderView(long? PointApplied, string? PointTakenAt, string? ConsistentAsOf, double? AgeSeconds,
    long? PointLatest, long PointsShipped, long PointBytes);
