using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Understudy.Agent.Failover;
using Understudy.Agent.Hosting;

namespace Understudy.Agent.Api;

/// <summary>POST /failover/{name}: fail over now (or confirm a pending one), dismiss, or only list the steps.</summary>
internal sealed record FailoverRequest(bool Dismiss, bool DryRun, bool Force);

internal static partial class ApiRoutes
{
    /// <summary>Fail-over of hosted jobs, on the target agent (docs/api.md).</summary>
    public static void MapFailover(RouteGroupBuilder api)
    {
        api.MapGet("/failover", (AgentHost a) => Results.Ok(a.Failover.Engines.Select(e => e.View())));
        api.MapGet("/failover/{name}", (string name, AgentHost a) =>
        {
            var e = a.Failover.Get(name);
            var steps = a.Context.Store.ListSteps(e.SourceId, e.Job, FailoverEngine.Phase)
                .Select(s => new { index = s.Index + 1, name = s.Name, status = s.Status, detail = s.Detail });
            return Results.Ok(new { failover = e.View(), steps });
        });
        api.MapPost("/failover/{name}", async (string name, FailoverRequest req, AgentHost a, CancellationToken ct) =>
        {
            var e = a.Failover.Get(name);
            if (req.DryRun)
                return Results.Ok(new { name, state = e.State.Name(), dryRun = true, steps = TakeoverPlan.Describe(e.BuildPlan(req.Force)) });
            var outcome = await e.CommandAsync(req.Dismiss ? OperatorCommand.Dismiss : OperatorCommand.FailOver, req.Force, ct);
            return Results.Ok(new
            {
                name,
                state = e.State.Name(),
                reason = e.Reason,
                completed = outcome?.Completed ?? true,
                abortReason = outcome?.AbortReason,
                warnings = outcome?.Warnings ?? 0,
            });
        });
    }
}
