using System.ComponentModel;

namespace Understudy.Core.Api;

/// <summary>One watched address in `understudy status` (JSON: docs/api.md).</summary>
/// <summary>One watched address or service: <paramref name="Probe"/> says what is probed there (as events name it).</summary>
internal sealed record AddressWatchView(string Address, string Method, int? Port, string State, int Misses, string? LastReply, string? Probe = null, int Weight = 1);

/// <summary>A hosted job's fail-over in `understudy status`.</summary>
internal sealed record FailoverView(
    string Name, string SourceId, string SourceName, string State, string? Reason, string Trigger, string Mode, string Policy,
    double IntervalSeconds, int Misses, bool Dismissed, double? TimeLeftSeconds, IReadOnlyList<AddressWatchView> Addresses, RestoreView? Restore = null,
    SourceQueueReport? SourceQueue = null, PlanApprovalView? Plan = null, WitnessView? Witness = null);

/// <summary>The plan's approval on this target (issue 19, item 2): nothing takes over until <see cref="Approved"/>.</summary>
internal sealed record PlanApprovalView(string Digest, bool Approved, string? ApprovedAt);

/// <summary>
/// What the source last said was queued and not yet acknowledged (ControlRequest "source-status", sent after each
/// acknowledgement and about once a second). <see cref="Bytes"/> are the queue's record bytes (records name paths, not
/// content); <see cref="RemirrorRequired"/>: the queue limit was passed and later changes were not even queued.
/// <see cref="ReportedAt"/> is this agent's clock when the report arrived. <see cref="OldestAgeSeconds"/> counts from the
/// capture side: writes held back for a file still open, and a queued record from the first write it stands for.
/// <see cref="MirrorPending"/>: a mirror was under way or due (the first, or a catch-up after lost events), so the
/// replica may lack changes of any age until it completes. <see cref="OldestPendingAt"/>: that oldest change by the
/// source's clock (when nothing was pending, when the report was made; null from a source before it).
/// </summary>
internal sealed record SourceQueueReport(long Ops, long Bytes, double OldestAgeSeconds, string ReportedAt, bool RemirrorRequired = false, bool MirrorPending = false,
    string? OldestPendingAt = null)
{
    /// <summary>The replica held every change the source made before this moment (this agent's clock), as far as the
    /// report tells: when it arrived minus the age of the oldest change not yet on the target, or that change's own time
    /// by the source's clock if earlier (a report that waited behind data arrives late, which would start the RPO late by
    /// the wait; taking the earlier errs toward a longer RPO whichever way the clocks differ). Null when the report
    /// cannot bound it (past the queue limit, or a mirror under way or due). A method: not part of the view's JSON.</summary>
    public DateTimeOffset? CompleteAsOf()
    {
        if (RemirrorRequired || MirrorPending || !TryParse(ReportedAt, out var at))
            return null;
        var complete = at - TimeSpan.FromSeconds(Math.Max(0, OldestAgeSeconds));
        return OldestPendingAt is { } s && TryParse(s, out var oldest) && oldest < complete ? oldest : complete;
    }

    private static bool TryParse(string s, out DateTimeOffset at) =>
        DateTimeOffset.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind, out at);

    public string Describe() =>
        $"{Ops} changes not acknowledged ({Bytes} bytes of queue records), oldest {OldestAgeSeconds:0.#} s old"
        + (RemirrorRequired ? ", and more not counted (the source had passed its queue limit: changes were no longer queued)" : "")
        + (MirrorPending ? ", and what a mirror under way had not sent yet" : "")
        + $" (as the source reported at {ReportedAt})";
}

/// <summary>
/// A job's witness (failover.witness) in `understudy status`, the status reply's job (source) and fail-over (target)
/// entries: on the source, whether it holds its lease (or is fenced); on the target, what the last claim found.
/// The descriptions are the OpenAPI schema's (docs/api.md, "Witness", lists the states).
/// </summary>
internal sealed record WitnessView(
    [property: Description("The etcd client URLs of failover.witness.endpoints")] IReadOnlyList<string> Endpoints,
    [property: Description("The job's key in the witness: PREFIX + source agent ID + '/' + job name")] string Key,
    [property: Description("failover.witness.lease in seconds")] double LeaseSeconds,
    [property: Description("failover.witness.renew in seconds")] double RenewSeconds,
    [property: Description("Source: starting, held, renewal failing, unreachable, held by the target, passive, fenced (or 'fenced; …', 'held (fenced: reclaiming)'). "
        + "Target: unknown (not asked yet), held by the source, held by this target, unreachable, released")] string State,
    [property: Description("Why, in words (the holder, the etcd error); null when there is nothing to add")] string? Detail,
    [property: Description("When the state last changed or the witness was last asked (ISO 8601), null before")] string? CheckedAt);
