namespace Understudy.Core.WriteOrder.Source;

/// <summary>One consistency point on the source: the read-only snapshot <see cref="Seq"/> in the points directory.
/// <see cref="TakenAt"/> is read just before the snapshot ioctl began: every write that had completed by then is in
/// the point, so a replica holding this point misses at most what was written since (the RPO clock).</summary>
internal sealed record SourcePoint(long Seq, DateTimeOffset TakenAt, TimeSpan SnapshotTime, SubvolumeInfo Info)
{
    public string Name => Seq.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>What sending one point cost: its delta against the previous point (or the whole subvolume for the
/// first), in bytes and commands. <see cref="Empty"/>: the delta changes nothing (only its Snapshot and End
/// commands), as after a point taken because of another subvolume's or the cleaner's transactions.</summary>
internal sealed record PointRecord(long Seq, long? ParentSeq, DateTimeOffset TakenAt, TimeSpan SnapshotTime, TimeSpan SendTime, long DeltaBytes, int Commands, bool Empty);
