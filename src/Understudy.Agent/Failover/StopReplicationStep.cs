using Understudy.Agent.Events;
using Understudy.Agent.Identity;

namespace Understudy.Agent.Failover;

/// <summary>The target side of replication as the fail-over sees it (implemented over TargetService).</summary>
internal interface IReplicationControl
{
    /// <summary>
    /// Ends the job's session, if any, after publishing every file received completely (a file still in
    /// flight is dropped, never served half-written); new sessions are refused from then on by the
    /// fail-over state. Returns the last replication sequence made durable.
    /// </summary>
    Task<long> StopAsync(string sourceId, string job, CancellationToken ct);

    /// <summary>A write-order job: the point the replica is (recovered by <see cref="StopAsync"/>); null for a file-mode job.</summary>
    Target.PointHeld? Held(string sourceId, string job) => null;

    /// <summary>When the job's session last ended (the source lost, as the target saw it); null while one is open or
    /// when none ended since the agent started.</summary>
    DateTimeOffset? LinkEndedAt(string sourceId, string job) => null;
}

/// <summary>First step of every fail-over: stop applying replication and finish what was received.</summary>
internal sealed class StopReplicationStep(string sourceId, string job, IReplicationControl control, Func<SourceQueueReport?> lastReport) : IFailoverStep
{
    public string Name => "stop replication";

    public IReadOnlyList<string> Describe() =>
        ["stop applying replication for the job; publish every file received completely; refuse the source from now on"];

    public async Task ApplyAsync(StepContext ctx, CancellationToken ct)
    {
        long seq = await control.StopAsync(sourceId, job, ct);
        if (control.Held(sourceId, job) is { Point: < 0 })
        {
            ctx.Warn(EventCode.ReplicaIncomplete, "replication stopped (write-order); the replica is no complete point: its first mirror (or a mirror from a fresh point) had not completed",
                new { consistency = "write-order", point = (long?)null });
            return;
        }
        if (control.Held(sourceId, job) is { } held)
        {
            // Write-order: the replica is one whole point; what is lost is everything after the moment it stands for.
            var lostAt = held.LinkEndedAt ?? DateTimeOffset.UtcNow;
            double rpo = Math.Max(0, (lostAt - held.ConsistentAsOf).TotalSeconds);
            ctx.Info(EventCode.ReplicationStopped, $"replication stopped (write-order); the replica is point {held.Point}, consistent as of {held.ConsistentAsOf.UtcDateTime:yyyy-MM-dd HH:mm:ss.fff}Z ({rpo:0.0} s before the source was lost, at {lostAt.UtcDateTime:HH:mm:ss.fff}Z)",
                new { consistency = "write-order", point = held.Point, pointTakenAt = held.TakenAt.ToString("O"), consistentAsOf = held.ConsistentAsOf.ToString("O"), sourceLostAt = lostAt.ToString("O"), rpoSeconds = Math.Round(rpo, 3) });
            return;
        }
        var r = lastReport();
        var lost = r is null
            ? "unknown: the source never reported its queue"
            : r.Describe();
        // File mode's RPO, the same measure as write-order's: from the moment before which the replica held every change
        // (the source's last report) to the moment the source was lost. The report's own "oldest" is as of when it was
        // sent, up to a second before: what the source wrote after it is lost too (issue 17).
        var sourceLost = control.LinkEndedAt(sourceId, job) ?? DateTimeOffset.UtcNow;
        var complete = r?.CompleteAsOf();
        double? rpoSeconds = complete is { } c ? Math.Round(Math.Max(0, (sourceLost - c).TotalSeconds), 3) : null;
        var bound = complete is { } asOf
            ? $"the replica has every change the source made before {asOf.UtcDateTime:HH:mm:ss.fff}Z and lacks at most the last {rpoSeconds:0.0} s before the source was lost (at {sourceLost.UtcDateTime:HH:mm:ss.fff}Z); "
            : r is null ? "" : "what the replica lacks is not bounded (a mirror was under way or due, or the source had passed its queue limit); ";
        ctx.Info(EventCode.ReplicationStopped, $"replication stopped; applied up to sequence {seq}; {bound}in flight and lost with the source: {lost}",
            new
            {
                consistency = "file",
                appliedSeq = seq,
                completeAsOf = complete?.ToString("O"),
                sourceLostAt = sourceLost.ToString("O"),
                rpoSeconds,
                inFlightOps = r?.Ops,
                inFlightBytes = r?.Bytes,
                inFlightAgeSeconds = r?.OldestAgeSeconds,
                inFlightUncounted = r?.RemirrorRequired,
                mirrorPending = r?.MirrorPending,
                reportedAt = r?.ReportedAt,
            });
    }

    // Replication resumes when the fail-over state allows the source again; nothing to undo here.
    public Task RevertAsync(StepContext ctx, CancellationToken ct) => Task.CompletedTask;
}
