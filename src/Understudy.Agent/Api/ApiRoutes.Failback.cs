using System.ComponentModel;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Understudy.Agent.Failover;
using Understudy.Agent.Hosting;

namespace Understudy.Agent.Api;

/// <summary>POST /failover/{name}/restore.</summary>
internal sealed record RestoreRequest(
    [property: Description("Force: with restore.conflicts: manual, park the diverged files and go on (after you inspected them)")] bool Force = false);

/// <summary>POST /failover/{name}/failback: run it, or with <see cref="DryRun"/> only list its steps (and why it would be refused now).</summary>
internal sealed record FailbackRequest(
    [property: Description("Dry run: list the steps and whether fail-back would be refused now; nothing changes")] bool DryRun = false);

internal static partial class ApiRoutes
{
    /// <summary>Restore and fail-back of hosted jobs, on the target agent (docs/api.md). Refusals are 409 problem+json saying what to run instead.</summary>
    public static void MapFailback(RouteGroupBuilder api)
    {
        api.MapPost("/failover/{name}/restore", (string name, RestoreRequest? req, AgentHost a) =>
        {
            var e = a.Failover.Get(name);
            var view = e.StartRestore(req?.Force ?? false);
            return Results.Ok(new { name, state = e.State.Name(), reason = e.Reason, restore = view });
        }).WithSummary("Send this target's copy back to the passive source and keep it in sync until fail-back");
        api.MapPost("/failover/{name}/failback", async (string name, FailbackRequest? req, AgentHost a, CancellationToken ct) =>
        {
            var e = a.Failover.Get(name);
            if (req?.DryRun == true)
                return Results.Ok(Plan(e, dryRun: true));
            var outcome = await e.FailbackAsync(ct);
            var steps = a.Context.Store.ListSteps(e.SourceId, e.Job, FailoverEngine.FailbackPhase)
                .Select(s => new { index = s.Index + 1, name = s.Name, status = s.Status, detail = s.Detail });
            return Results.Ok(new
            {
                name,
                state = e.State.Name(),
                reason = e.Reason,
                completed = outcome.Completed,
                abortReason = outcome.AbortReason,
                warnings = outcome.Warnings,
                steps,
            });
        }).WithSummary("Give the job back to its source (dryRun: only the plan)");
        api.MapGet("/failover/{name}/failback", (string name, AgentHost a) => Results.Ok(Plan(a.Failover.Get(name), dryRun: false)))
            .WithSummary("The fail-back plan and the restore's progress");
    }

    /// <summary>The fail-back plan as `failback --dry-run` prints it; <c>refused</c>: why it would be refused now (null: it may start).</summary>
    private static object Plan(FailoverEngine e, bool dryRun) =>
        new { name = e.Job, state = e.State.Name(), dryRun, restore = e.RestoreRun?.View(), steps = Describe(e), refused = e.FailbackRefusal() };

    private static IReadOnlyList<string> Describe(FailoverEngine e) => TakeoverPlan.Describe(e.BuildFailbackPlan());
}
