using Understudy.Agent.Events;
using Understudy.Agent.Source;
using Understudy.Agent.WriteOrder;
using Understudy.Core.Jobs;
using Understudy.Core.Paths;
using Understudy.Core.Protocol;
using Understudy.Core.WriteOrder.Source;

namespace Understudy.Agent.Jobs;

/// <summary>
/// Write-order replication (replication.consistency: write-order; docs/adr/0001-write-order-mode.md): no change
/// capture and no queue. The replica starts as a mirror of a read-only snapshot (a consistency point), announced as
/// a base point; then a <see cref="PointLoop"/> takes a point at most every <see cref="PointInterval"/> and ships its delta
/// (PointBegin, PointData…, PointEnd). Each point waits for the target's PointApplied before older snapshots are
/// deleted, so the snapshot the target holds is always kept: after a reconnect or a restart the next delta is
/// from the point JobOpened names. A target holding no point, or one this source no longer has, gets a difference
/// mirror from a fresh point first.
/// </summary>
internal sealed partial class JobRunner
{
    /// <summary>How often a point is taken at most (skipped when nothing changed; never while the previous one is in
    /// flight, PointLoop): the RPO under load is about this or one round trip (send, the target's apply and sync, the
    /// acknowledgement), whichever is longer, plus one round trip. Each point costs the workload one btrfs transaction
    /// commit: 500 ms rather than 250 halved the commits for an RPO p99 still ≤ 0.7 s (ADR 0001, docs/performance.md).</summary>
    internal static readonly TimeSpan PointInterval = TimeSpan.FromMilliseconds(500);

    private static readonly TimeSpan PointCurrentEvery = TimeSpan.FromSeconds(1);

    private readonly bool _writeOrder;
    private PointSource? _points;
    private SourceSession? _pointsSession;
    private long _pointAcked = -1;
    private DateTimeOffset? _pointTakenAt;
    private DateTimeOffset? _pointConsistentAsOf;
    private SourcePoint? _pointOpen;
    private long _pointsShipped;
    private long _pointBytes;

    private static long UnixNs(DateTimeOffset t) => (t - DateTimeOffset.UnixEpoch).Ticks * 100;

    private PointSource EnsurePointSource()
    {
        // Checked again here, not only at job apply: the file system under the path may have changed since.
        if (_points is null)
        {
            try
            {
                _points = PointSource.Open(Job.Roots[0].Path, _ctx.Time);
            }
            catch (WriteOrderUnsupportedException e)
            {
                throw new InvalidOperationException(e.Message, e);
            }
        }
        return _points;
    }

    /// <summary>A mirror of a fresh point's snapshot, then that point as the replica's base. The target forgets the
    /// point it held when the base begins: until the base ends, its replica is no point at all.</summary>
    private async Task PointMirrorAsync(MirrorMode mode, string? why, SourceSession session, CancellationToken ct)
    {
        var ps = EnsurePointSource();
        var point = await Task.Run(ps.TryTake, ct) ?? ps.Latest!;
        long taken = UnixNs(point.TakenAt);
        _pointOpen = point;
        await session.SendAsync(new PointBegin(point.Seq, -1, taken), ct);
        var snapshot = Job with
        {
            Roots = [new SourceRoot(Path.Combine(ps.Subvolume.PointsDir, point.Name), RelPath.Root)],
            // A snapshot holds the points directory (a nested subvolume) as an empty directory: not data.
            IsExcluded = (p, dir) => dir && p.ToString() == PointSubvolume.PointsDirName,
            DeleteOrphans = true,
        };
        await MirrorAsync(mode, $"write-order base from point {point.Seq}" + (why is null ? "" : $": {why}"), catchUp: false, thorough: false, session, ct, settled: true, over: snapshot);
        await session.SendAsync(new PointEnd(point.Seq, taken), ct);
        await session.FlushAsync(ct);
        _pointOpen = null;
        await session.PointAppliedAsync(point.Seq).WaitAsync(ct);
        NotePointAcked(session, point.Seq, point.TakenAt);
        ps.Retire(new PointRecord(point.Seq, null, point.TakenAt, point.SnapshotTime, TimeSpan.Zero, 0, 0, Empty: false));
        _ctx.Events.Record(EventCode.WriteOrderBaseline, Severity.Info, "replication", Job.Name, $"write-order: the target holds point {point.Seq} (taken {point.TakenAt.UtcDateTime:HH:mm:ss.fff}Z); points follow as deltas");
    }

    private void NotePointAcked(SourceSession session, long point, DateTimeOffset takenAt)
    {
        _pointsSession = session;
        _pointAcked = point;
        _pointTakenAt = takenAt;
        _pointConsistentAsOf = takenAt;
        Interlocked.Increment(ref _changes);
    }

    /// <summary>Ships points until a command waits, the job is paused, the session fails or the job stops.</summary>
    private async Task ShipPointsAsync(SourceSession session, CancellationToken ct)
    {
        var ps = EnsurePointSource();
        if (_pointsSession != session)
        {
            // What the target holds, after its recovery: the parent of the next delta.
            _pointsSession = session;
            _pointAcked = session.Opened.PointHeld;
            _pointTakenAt = _pointConsistentAsOf = session.Opened.PointHeld < 0 ? null : DateTimeOffset.UnixEpoch.AddTicks(session.Opened.PointTakenAtNs / 100);
        }
        else if (session.PointAppliedSeq > _pointAcked && ps.Kept.FirstOrDefault(p => p.Seq == session.PointAppliedSeq) is { } applied)
        {
            // Acknowledged after this loop last stopped waiting: the target holds it, so it is the parent.
            NotePointAcked(session, applied.Seq, applied.TakenAt);
        }
        var parent = ps.Kept.FirstOrDefault(p => p.Seq == _pointAcked);
        if (parent is null)
        {
            RequestCatchUp(_pointAcked < 0
                ? "write-order: the target holds no complete point"
                : $"write-order: the target holds point {_pointAcked}, whose snapshot this source no longer has");
            return;
        }
        foreach (var p in ps.Kept)
        {
            if (p.Seq > parent.Seq)
                ps.Destroy(p); // taken (or sent) but never acknowledged: the next delta is from the parent
        }
        SetState(JobState.Replicating, null);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var loop = new PointLoop(ps, _ctx.Time, PointInterval, parent,
            p =>
            {
                _pointOpen = p;
                return new PointFrameStream(session, new PointBegin(p.Seq, _pointAcked, UnixNs(p.TakenAt)));
            },
            // Under the job's token, not the loop's: a point sent whole before a pause is ended and its acknowledgement
            // awaited, or the target would hold a point this source retires as never acknowledged.
            (r, _) => PointSentAsync(session, r, ct)).RunAsync(stop.Token);
        var lastCurrent = DateTimeOffset.MinValue;
        try
        {
            while (true)
            {
                var wake = _wake.Next;
                if (ct.IsCancellationRequested || _commands.Reader.Count > 0 || !ShouldReplicate)
                    break;
                await Task.WhenAny(loop, wake, session.Faulted, Task.Delay(PointCurrentEvery, _ctx.Time, ct));
                if (loop.IsCompleted || session.Faulted.IsCompleted)
                    break;
                // Read in this order: a point taken meanwhile makes Latest newer than the acknowledged one, and then
                // the "as of" read before it is not sent for the older point.
                var asOf = ps.ConsistentAsOf;
                if (ps.Latest is { } latest && latest.Seq == _pointAcked && asOf > latest.TakenAt && asOf > lastCurrent)
                {
                    await session.SendAsync(new PointCurrent(_pointAcked, UnixNs(asOf)), ct);
                    await session.FlushAsync(ct);
                    lastCurrent = asOf;
                    _pointConsistentAsOf = asOf;
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await loop; // returns when stopped; a point that failed throws here
            if (_pointOpen is { } open && !session.Faulted.IsCompleted)
            {
                // Cut short by a command or a pause: the target drops what it received of it.
                await session.SendAsync(new PointEnd(open.Seq, UnixNs(open.TakenAt), Abort: true), CancellationToken.None);
                await session.FlushAsync(CancellationToken.None);
            }
            _pointOpen = null;
        }
        if (session.Faulted.IsCompleted)
            await session.Faulted;
    }

    private async Task PointSentAsync(SourceSession session, PointRecord r, CancellationToken ct)
    {
        await session.SendAsync(new PointEnd(r.Seq, UnixNs(r.TakenAt)), ct);
        await session.FlushAsync(ct);
        _pointOpen = null;
        await session.PointAppliedAsync(r.Seq).WaitAsync(ct);
        NotePointAcked(session, r.Seq, r.TakenAt);
        Interlocked.Increment(ref _pointsShipped);
        Interlocked.Add(ref _pointBytes, r.DeltaBytes);
    }

    /// <summary>Write-order idle: the newest point is on the target, and a check since found nothing changed.</summary>
    private bool PointsIdle =>
        _points is { } ps && ps.Latest is { } latest && latest.Seq == _pointAcked && ps.ConsistentAsOf > latest.TakenAt;

    public WriteOrderView? WriteOrderStatus(DateTimeOffset now)
    {
        if (!_writeOrder)
            return null;
        var asOf = _pointConsistentAsOf;
        return new WriteOrderView(_pointAcked >= 0 ? _pointAcked : null, _pointTakenAt?.ToString("O"), asOf?.ToString("O"),
            asOf is { } a ? Math.Round(Math.Max(0, (now - a).TotalSeconds), 3) : null,
            _points?.Latest?.Seq, Interlocked.Read(ref _pointsShipped), Interlocked.Read(ref _pointBytes));
    }
}
