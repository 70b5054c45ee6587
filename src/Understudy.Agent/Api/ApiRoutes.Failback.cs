using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Understudy.Agent.Failover;
using Understudy.Core.Api;

namespace Understudy.Agent.Api;

internal sealed partial class ApiRoutes
{
    /// <summary>Restore and fail-back of hosted jobs, on the target agent (docs/api.md). Refusals are 409 problem+json saying what to run instead.</summary>
    private void MapFailback(RouteGroupBuilder api)
    {
        api.MapPost("/failover/{name}/restore", (string name, RestoreRequest? req) =>
        {
            var e = failover.Get(name);
            var view = e.StartRestore(req?.Force ?? false);
            return Results.Ok(new RestoreReply(name, e.State.Name(), e.Reason, view));
        }).Produces<RestoreReply>().WithSummary("Send this target's copy back to the passive source and keep it in sync until fail-back");
        api.MapPost("/failover/{name}/failback", async (string name, FailbackRequest? req, CancellationToken ct) =>
        {
            var e = failover.Get(name);
            if (req?.DryRun == true)
                return Results.Ok(Plan(e, dryRun: true));
            var outcome = await e.FailbackAsync(ct);
            return Results.Ok(new FailbackReply(name, e.State.Name(), e.Reason, outcome.Completed, outcome.AbortReason, outcome.Warnings,
                Steps(e, FailoverEngine.FailbackPhase)));
        }).Produces<FailbackReply>().Produces<FailbackPlanReply>().WithSummary("Give the job back to its source (dryRun: only the plan)");
        api.MapGet("/failover/{name}/failback", (string name) => Results.Ok(Plan(failover.Get(name), dryRun: false))).Produces<FailbackPlanReply>()
            .WithSummary("The fail-back plan and the restore's progress");
    }

    /// <summary>The fail-back plan as `failback --dry-run` prints it; <c>refused</c>: why it would be refused now (null: it may start).</summary>
    private static FailbackPlanReply Plan(FailoverEngine e, bool dryRun) =>
        new(e.Job, e.State.Name(), dryRun, e.RestoreRun?.View(), TakeoverPlan.Describe(e.BuildFailbackPlan()), e.FailbackRefusal());
}
