using System.Text;
using Understudy.Core.Posix;

namespace Understudy.Core.WriteOrder.Source;

/// <summary>Takes consistency points of the btrfs subvolume holding a protected path: read-only snapshots made by
/// ioctl in <see cref="PointSubvolume.PointsDir"/>, named by sequence number, a point skipped when nothing changed
/// (<see cref="TryTake"/>), each point's delta against the previous one produced by BTRFS_IOC_SEND
/// (PointSource.Send.cs), snapshots no longer needed deleted (<see cref="Retire"/>). Thread-safe: one caller may
/// take points while another sends them (PointLoop).</summary>
internal sealed partial class PointSource : IDisposable
{
    private readonly Lock _lock = new();
    private readonly SafeFd _vol;
    private readonly SafeFd _points;
    private readonly TimeProvider _time;
    private readonly SortedDictionary<long, SourcePoint> _kept = [];
    private DateTimeOffset _verifiedAt;

    private PointSource(PointSubvolume subvolume, SafeFd vol, SafeFd points, TimeProvider time)
    {
        Subvolume = subvolume;
        _vol = vol;
        _points = points;
        _time = time;
    }

    /// <summary>After this many snapshots are kept, empty points too let the older ones go (see <see cref="Retire"/>).</summary>
    public int KeepAtMost { get; init; } = 8;

    public PointSubvolume Subvolume { get; }

    /// <summary>The newest point taken, or null before the first.</summary>
    public SourcePoint? Latest
    {
        get
        {
            lock (_lock)
                return _kept.Count == 0 ? null : _kept.Values.Last();
        }
    }

    /// <summary>The snapshots kept, oldest first.</summary>
    public IReadOnlyList<SourcePoint> Kept
    {
        get
        {
            lock (_lock)
                return [.. _kept.Values];
        }
    }

    /// <summary>The latest moment the source is known to have equalled <see cref="Latest"/>: its
    /// <see cref="SourcePoint.TakenAt"/>, or a later <see cref="TryTake"/> that found nothing changed. A replica
    /// holding <see cref="Latest"/> lacks only what was written after this: its RPO is now minus this.</summary>
    public DateTimeOffset ConsistentAsOf
    {
        get
        {
            lock (_lock)
                return _verifiedAt;
        }
    }

    /// <summary><see cref="PointSubvolume.Check"/>s <paramref name="protectedPath"/>, creates the points directory
    /// (a nested subvolume) if missing, and adopts the snapshots already in it (an agent restarted).</summary>
    public static PointSource Open(string protectedPath, TimeProvider time)
    {
        var sub = PointSubvolume.Check(protectedPath);
        var vol = PointSubvolume.OpenDir(sub.Root, sub.Root);
        try
        {
            if (!Directory.Exists(sub.PointsDir))
                BtrfsIoctl.CreateSubvolume(vol, PointSubvolume.PointsDirName, sub.PointsDir);
            var points = PointSubvolume.OpenDir(sub.PointsDir, sub.PointsDir);
            var source = new PointSource(sub, vol, points, time);
            source.Adopt();
            return source;
        }
        catch
        {
            vol.Dispose();
            throw;
        }
    }

    private void Adopt()
    {
        foreach (var dir in Directory.EnumerateDirectories(Subvolume.PointsDir))
        {
            if (!long.TryParse(Path.GetFileName(dir), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long seq))
                continue;
            using var fd = PointSubvolume.OpenDir(dir, dir);
            var info = BtrfsIoctl.Info(fd, dir);
            if (!info.IsReadOnly)
                continue;
            var taken = Directory.GetCreationTimeUtc(dir);
            _kept[seq] = new SourcePoint(seq, new DateTimeOffset(taken, TimeSpan.Zero), TimeSpan.Zero, info);
        }
    }

    /// <summary>Takes the next point, or returns null when the subvolume cannot have changed since
    /// <see cref="Latest"/>. The test is the file system's generation (BTRFS_IOC_FS_INFO) against the creation
    /// transaction of the latest snapshot: the snapshot ioctl commits that transaction with the snapshot in it, and
    /// every later change that can reach the disk (a write when it is written back or fsynced, an mmap write, any
    /// metadata change) runs in a later transaction, which raises the generation before it changes anything. A
    /// buffered write not yet written back starts no transaction: it is not durable on the source either (a power
    /// cut would lose it), and it is taken with the point after its writeback (at most the kernel's
    /// dirty_expire_centisecs, 30 s by default) or its fsync. The generation counts the whole file system, so
    /// other subvolumes' changes and the cleaner freeing deleted snapshots cause points too (cost, not loss).
    /// ADR 0001 gives why the subvolume's own generation or a tree search would not do.</summary>
    public SourcePoint? TryTake()
    {
        var latest = Latest;
        var checkedAt = _time.GetUtcNow();
        if (latest is not null && BtrfsIoctl.FsGeneration(_vol, Subvolume.Root) is { } gen && gen <= latest.Info.Otransid)
        {
            lock (_lock)
                _verifiedAt = checkedAt;
            return null;
        }
        long seq = latest is null ? 0 : latest.Seq + 1;
        string name = seq.ToString(System.Globalization.CultureInfo.InvariantCulture);
        long t0 = _time.GetTimestamp();
        var takenAt = _time.GetUtcNow();
        BtrfsIoctl.SnapshotReadOnly(_vol, _points, name, Path.Combine(Subvolume.PointsDir, name));
        var took = _time.GetElapsedTime(t0);
        SubvolumeInfo info;
        using (var fd = PointSubvolume.OpenDir(Path.Combine(Subvolume.PointsDir, name), name))
            info = BtrfsIoctl.Info(fd, name);
        var point = new SourcePoint(seq, takenAt, took, info);
        lock (_lock)
        {
            _kept[seq] = point;
            _verifiedAt = takenAt;
        }
        return point;
    }

    /// <summary>Deletes the snapshots older than <paramref name="sent"/>, which no later delta needs, once the
    /// replica holds it. Deleting starts transactions (the unlink, then the cleaner freeing the tree), which
    /// <see cref="TryTake"/> cannot tell from a change of the data, so each deletion causes one more point. After
    /// an <see cref="PointRecord.Empty"/> point the older snapshots are therefore kept until more than
    /// <see cref="KeepAtMost"/> pile up: otherwise every empty point would delete one and cause the next, a point
    /// every interval on an idle subvolume.</summary>
    public void Retire(PointRecord sent)
    {
        List<SourcePoint> old;
        lock (_lock)
        {
            old = _kept.Values.Where(p => p.Seq < sent.Seq).ToList();
            if (sent.Empty && _kept.Count <= KeepAtMost)
                return;
        }
        foreach (var p in old)
            Destroy(p);
    }

    /// <summary>Deletes one snapshot (a point superseded before it was sent, or an old one).</summary>
    public void Destroy(SourcePoint p)
    {
        BtrfsIoctl.DestroySubvolume(_points, p.Name, Path.Combine(Subvolume.PointsDir, p.Name));
        lock (_lock)
            _kept.Remove(p.Seq);
    }

    public void Dispose()
    {
        _points.Dispose();
        _vol.Dispose();
    }
}
