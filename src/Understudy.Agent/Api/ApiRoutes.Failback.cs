using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Understudy.Agent.Failover;
using Understudy.Agent.Hosting;

namespace Understudy.Agent.Api;

/// <summary>POST /failover/{name}/restore and /failback. <see cref="Force"/> on restore: a <c>manual</c> conflict policy parks instead of stopping.</summary>
internal sealed record FailbackRequest(bool Force = false);

internal static partial class ApiRoutes
{
    /// <summary>Restore and fail-back of hosted jobs, on the target agent (docs/api.md). Refusals are 409 problem+json saying what to run instead.</summary>
    public static void MapFailback(RouteGroupBuilder api)
    {
        api.MapPost("/failover/{name}/restore", (string name, FailbackRequest? req, AgentHost a) =>
        {
            var e = a.Failover.Get(name);
            var view = e.StartRestore(req?.Force ?? false);
            return Results.Ok(new { name, state = e.State.Name(), reason = e.Reason, restore = view });
        });
        api.MapPost("/failover/{name}/failback", async (string name, FailbackRequest? req, AgentHost a, CancellationToken ct) =>
        {
            var e = a.Failover.Get(name);
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
        });
        api.MapGet("/failover/{name}/failback", (string name, AgentHost a) =>
        {
            var e = a.Failover.Get(name);
            return Results.Ok(new
            {
                name,
                state = e.State.Name(),
                restore = e.RestoreRun?.View(),
                steps = Describe(e),
            });
        });
    }

    private static IReadOnlyList<string> Describe(FailoverEngine e) => TakeoverPlan.Describe(e.BuildFailbackPlan());
}
