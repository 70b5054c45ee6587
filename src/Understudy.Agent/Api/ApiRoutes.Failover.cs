using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Understudy.Agent.Failover;
using Understudy.Core.Api;

namespace Understudy.Agent.Api;

internal sealed partial class ApiRoutes
{
    /// <summary>Fail-over of hosted jobs, on the target agent (docs/api.md).</summary>
    private void MapFailover(RouteGroupBuilder api)
    {
        api.MapGet("/failover", () => Results.Ok(failover.Engines.Select(e => e.View()).ToArray())).Produces<FailoverView[]>();
        api.MapGet("/failover/{name}", (string name) =>
        {
            var e = failover.Get(name);
            return Results.Ok(new FailoverDetail(e.View(), Steps(e, FailoverEngine.Phase)));
        }).Produces<FailoverDetail>();
        api.MapGet("/failover/{name}/plan", (string name) => Results.Ok(failover.Get(name).Show())).Produces<FailoverPlanView>();
        api.MapPost("/failover/{name}/approve", (string name, ApproveRequest req) =>
        {
            var e = failover.Get(name);
            e.Approve(req.Digest);
            return Results.Ok(e.Show());
        }).Produces<FailoverPlanView>();
        api.MapPost("/failover/{name}", async (string name, FailoverRequest req, CancellationToken ct) =>
        {
            var e = failover.Get(name);
            if (req.DryRun)
                return Results.Ok(new FailoverPlanReply(name, e.State.Name(), DryRun: true, TakeoverPlan.Describe(e.BuildPlan(req.Force))));
            var outcome = await e.CommandAsync(req.Dismiss ? OperatorCommand.Dismiss : OperatorCommand.FailOver, req.Force, ct);
            return Results.Ok(new FailoverReply(name, e.State.Name(), e.Reason, outcome?.Completed ?? true, outcome?.AbortReason, outcome?.Warnings ?? 0));
        }).Produces<FailoverReply>().Produces<FailoverPlanReply>();
    }

    /// <summary>The steps of the engine's last run of <paramref name="phase"/> (take-over or fail-back), as the journal kept them.</summary>
    private StepView[] Steps(FailoverEngine e, string phase) =>
        [.. ctx.Store.ListSteps(e.SourceId, e.Job, phase).Select(s => new StepView(s.Index + 1, s.Name, s.Status, s.Detail))];
}
