namespace Understudy.Core.Api;

/// <summary>One step of a fail-over or fail-back as the step journal keeps it; <see cref="Index"/> counts from 1.</summary>
internal sealed record StepView(int Index, string Name, string Status, string? Detail);

/// <summary>GET /failover/{name}: the fail-over and the steps of the last take-over.</summary>
internal sealed record FailoverDetail(FailoverView Failover, IReadOnlyList<StepView> Steps);

/// <summary>POST /failover/{name} with dryRun: the exact steps a take-over would run now (<see cref="DryRun"/> is always true).</summary>
internal sealed record FailoverPlanReply(string Name, string State, bool DryRun, IReadOnlyList<string> Steps);

/// <summary>POST /failover/{name}: the outcome of a take-over or a dismiss. Not <see cref="Completed"/>: aborted and undone.</summary>
internal sealed record FailoverReply(string Name, string State, string? Reason, bool Completed, string? AbortReason, int Warnings);

/// <summary>POST /failover/{name}/restore: the restore started (or already running).</summary>
internal sealed record RestoreReply(string Name, string State, string? Reason, RestoreView? Restore);

/// <summary>POST /failover/{name}/failback: the outcome and each step as it ran.</summary>
internal sealed record FailbackReply(string Name, string State, string? Reason, bool Completed, string? AbortReason, int Warnings,
    IReadOnlyList<StepView> Steps);

/// <summary>GET /failover/{name}/failback and its dry run: the plan, the restore's progress, and why fail-back would be
/// refused now (<see cref="Refused"/> null: it may start).</summary>
internal sealed record FailbackPlanReply(string Name, string State, bool DryRun, RestoreView? Restore, IReadOnlyList<string> Steps, string? Refused);

/// <summary>
/// GET /failover/{name}/plan (`failover NAME --show`), and the answer of POST /failover/{name}/approve: the plan the
/// source sent, in words (<see cref="Plan"/>) and as the take-over's steps (<see cref="Steps"/>), its
/// <see cref="Digest"/>, whether this target approved it, and what changed since the plan last approved
/// (<see cref="Changes"/>: "- " removed, "+ " added).
/// </summary>
internal sealed record FailoverPlanView(string Name, string SourceId, string SourceName, string State, string Digest, bool Approved,
    string? ApprovedDigest, string? ApprovedAt, IReadOnlyList<string> Plan, IReadOnlyList<string> Changes, IReadOnlyList<string> Steps);
