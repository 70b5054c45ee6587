using System.Collections.Concurrent;
using Understudy.Agent.Events;
using Understudy.Agent.WriteOrder;
using Understudy.Core.Jobs;
using Understudy.Core.WriteOrder;

namespace Understudy.Agent.Target;

/// <summary>What the replica of a write-order job is: point <see cref="Point"/>, whose snapshot the source took at
/// <see cref="TakenAt"/>; the source said nothing changed after it until <see cref="ConsistentAsOf"/> (the RPO clock).
/// <see cref="LinkEndedAt"/>: when the source's session last ended (null while connected).</summary>
/// Point -1: a write-order job whose replica is no complete point (before its first base, or while a base mirror runs).
internal sealed record PointHeld(long Point, DateTimeOffset TakenAt, DateTimeOffset ConsistentAsOf, DateTimeOffset? LinkEndedAt)
{
    public WriteOrderView View(DateTimeOffset now) => Point < 0
        ? new WriteOrderView(null, null, null, null, null, 0, 0)
        : new WriteOrderView(Point, TakenAt.ToString("O"), ConsistentAsOf.ToString("O"), Math.Round(Math.Max(0, (now - ConsistentAsOf).TotalSeconds), 3), null, 0, 0);
}

// Write-order jobs on the target: one point journal per hosted job (DATA/points/<source id>/<job>), recovered before
// anything reads the replica — at agent start, when the source's session opens, and when a fail-over stops it.
internal sealed partial class TargetService
{
    private readonly ConcurrentDictionary<string, PointHeld> _points = new();

    public string JournalDir(HostedJobInfo job) => JournalDir(job.SourceId, job.Job);

    private string JournalDir(string sourceId, string job) => Path.Combine(dataDir, "points", sourceId, job);

    public PointHeld? Held(HostedJobInfo job) => Held(job.SourceId, job.Job);

    public PointHeld? Held(string sourceId, string job) => _points.TryGetValue(sourceId + "/" + job, out var h) ? h : null;

    private static DateTimeOffset FromNs(long ns) => DateTimeOffset.UnixEpoch.AddTicks(ns / 100);

    private static readonly PointHeld NoPoint = new(-1, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, null);

    /// <summary>A base begins: the mirror that follows changes the replica outside any point, so the journal goes.</summary>
    public void ForgetPoints(HostedJobInfo job)
    {
        var dir = JournalDir(job);
        if (Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
        _points[job.Key] = NoPoint;
    }

    public void NoteApplied(HostedJobInfo job, long point, long takenAtNs)
    {
        var at = FromNs(takenAtNs);
        _points[job.Key] = new PointHeld(point, at, at, null);
    }

    /// <summary>The source found nothing changed since <paramref name="point"/> until <paramref name="asOfNs"/>.</summary>
    public void NoteCurrent(HostedJobInfo job, long point, long asOfNs)
    {
        if (_points.TryGetValue(job.Key, out var h) && h.Point == point && FromNs(asOfNs) > h.ConsistentAsOf)
            _points[job.Key] = h with { ConsistentAsOf = FromNs(asOfNs) };
    }

    private void NoteLinkEnded(HostedJobInfo job)
    {
        _linkEnded[job.Key] = DateTimeOffset.UtcNow;
        if (_points.TryGetValue(job.Key, out var h))
            _points[job.Key] = h with { LinkEndedAt = DateTimeOffset.UtcNow };
    }

    /// <summary>Finishes a point received but not applied (the redo), so the replica is exactly the last complete
    /// point; a point not received whole is dropped. Returns what the replica holds, null without a journal.</summary>
    private PointHeld? RecoverPoints(string sourceId, string job, string targetPath)
    {
        var dir = JournalDir(sourceId, job);
        if (!File.Exists(Path.Combine(dir, "state")))
            return null;
        bool pending;
        PointState s;
        using (var applier = NewPointApplier(sourceId, targetPath))
        {
            var j = PointJournal.Open(dir);
            pending = j.State.Pending;
            j.ApplyPending(applier);
            s = j.State;
        }
        if (pending)
            events.Record(EventCode.PointFinished, Severity.Info, "apply", job, $"write-order: finished applying point {s.Applied}, received whole before the agent or its link stopped");
        var key = sourceId + "/" + job;
        var at = FromNs(s.AppliedTakenNs);
        var held = _points.TryGetValue(key, out var h) && h.Point == s.Applied ? h : new PointHeld(s.Applied, at, at, null);
        _points[key] = held;
        return held;
    }

    /// <summary>Agent start: every hosted write-order replica is brought to its last complete point before a session,
    /// a status or a fail-over reads it.</summary>
    public void RecoverAllPoints()
    {
        foreach (var h in store.ListHosted())
        {
            try
            {
                RecoverPoints(h.SourceId, h.Job, h.TargetPath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or Core.Posix.PosixException or InvalidSendStreamException)
            {
                events.Record(EventCode.PointRecoveryFailed, Severity.Error, "apply", h.Job, $"write-order: cannot recover the replica's last point: {e.Message}");
            }
        }
    }

    private static bool IsWriteOrder(string jobJson)
    {
        try
        {
            return jobJson.Length > 0 && JobSpecJson.Deserialize(jobJson).Replication.Consistency == Consistency.WriteOrder;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    /// <summary>At OpenJob: a write-order job's replica recovered (JobOpened then says which point it holds); a job
    /// that is in file mode now has its journal removed, so a later switch back starts from a mirror.</summary>
    private PointHeld? OpenPoints(HostedJobInfo job, string jobJson)
    {
        if (IsWriteOrder(jobJson))
        {
            if (RecoverPoints(job.SourceId, job.Job, job.TargetPath) is { } held)
                return held;
            _points[job.Key] = NoPoint;
            return null;
        }
        var dir = JournalDir(job);
        if (Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
        _points.TryRemove(job.Key, out _);
        return null;
    }

    /// <summary>A point applier for a job of <paramref name="sourceId"/>, under its trust entry's privileges (PrivilegePolicy.cs).</summary>
    internal PointApplier NewPointApplier(string sourceId, string targetPath)
    {
        var peer = store.GetTrust(sourceId);
        return new PointApplier(targetPath)
        {
            ModeMask = peer?.AllowSetuid == true ? 0xFFFu : 0x3FFu,
            SkipPrivilegedXattrs = peer?.AllowSecurityXattrs != true,
        };
    }
}
