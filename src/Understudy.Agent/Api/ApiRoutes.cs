using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Understudy.Agent.Common;
using Understudy.Agent.Events;
using Understudy.Agent.Failover;
using Understudy.Agent.Hosting;
using Understudy.Agent.Jobs;
using Understudy.Agent.Target;
using Understudy.Agent.WebConsole;
using Understudy.Core.Api;
using Understudy.Core.Jobs;

namespace Understudy.Agent.Api;

/// <summary>
/// The whole management API in one route table (docs/api.md). The CLI and the console use nothing else. Every reply is
/// a record of Understudy.Core.Api, written through <see cref="ApiJson"/>; the handlers use the services given here and
/// nothing from the container (<paramref name="peerEndPoint"/>: the peer link's address, known once it listens;
/// <paramref name="version"/>: the product version the agent reports). <c>GET /metrics</c> is mapped here too, outside
/// <c>/api/v1</c> where Prometheus looks for it.
/// </summary>
internal sealed partial class ApiRoutes(AgentContext ctx, JobManager jobs, TargetService target, FailoverManager failover, Func<IPEndPoint?> peerEndPoint,
    string version, Notify.Notifier notifier, Metrics.AgentMetrics metrics)
{
    public void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1");
        api.MapGet("/health", Health).Produces<HealthReply>().Produces<HealthReply>(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/agent", () => Results.Ok(new AgentInfo(ctx.Identity.Id, ctx.AgentName, version, peerEndPoint()?.ToString(), ctx.DataDir)))
            .Produces<AgentInfo>();

        api.MapGet("/trust", () => Results.Ok(ctx.Store.ListTrust().ToArray())).Produces<TrustedPeer[]>();
        api.MapPost("/trust", async (TrustRequest req) =>
        {
            var id = NormalizeId(req.Id);
            if (id is null)
                return Problem(400, $"'{req.Id}' is not an agent ID: expected 64 hex characters (run 'understudy id' on that agent)");
            var roots = new List<string>();
            foreach (var given in req.Roots ?? [])
            {
                var (root, error) = TrustRoots.Normalize(given);
                if (error is not null)
                    return Problem(400, error);
                roots.Add(root!);
            }
            var before = ctx.Store.GetTrust(id);
            ctx.Store.AddTrust(id, string.IsNullOrWhiteSpace(req.Name) ? null : req.Name.Trim(), roots, req.AllowSetuid, req.AllowSecurityXattrs, req.Replace);
            var entry = ctx.Store.GetTrust(id)!;
            ctx.Events.Record(EventCode.PeerTrusted, Severity.Security, "trust", null, $"trusted peer {id} ({entry.Name}): {TrustRoots.Describe(entry)}");
            // A session reads the policy when it starts: a changed entry ends the peer's live ones (it reconnects), so the
            // change, narrowing above all, takes effect at once.
            if (before is not null && !TrustRoots.SamePolicy(before, entry))
                await target.RestartSessionsAsync(id);
            return Results.Ok(new TrustReply(id));
        }).Produces<TrustReply>();
        api.MapDelete("/trust/{id}", async (string id, CancellationToken ct) =>
        {
            var n = NormalizeId(id);
            if (n is null || !ctx.Store.RemoveTrust(n))
                return Problem(404, $"{id} is not in the trust list");
            // At once: its live connections end, its fail-over plans and registrations are disarmed (TargetService.Revoke.cs).
            var disarmed = await target.RevokeAsync(n, ct);
            ctx.Events.Record(EventCode.PeerTrustRemoved, Severity.Security, "trust", null,
                $"removed trust of peer {n}{(disarmed.Count == 0 ? "" : "; " + string.Join("; ", disarmed))}");
            return Results.Ok(new TrustReply(n, [.. disarmed]));
        }).Produces<TrustReply>();

        api.MapGet("/jobs", () => Results.Ok(JobStatuses())).Produces<JobStatusView[]>();
        api.MapPost("/jobs", async (ApplyRequest req) =>
        {
            var spec = await jobs.ApplyAsync(req.Yaml, req.FileName ?? "job.yaml");
            return Results.Ok(new JobNameReply(spec.Name));
        }).Produces<JobNameReply>();
        api.MapGet("/jobs/{name}", (string name) =>
        {
            var (spec, yaml) = jobs.GetSpec(name);
            // The spec always in the job file's own words (JobSpecJson), never the API's web defaults.
            return Results.Ok(new JobDetail(jobs.Status(jobs.Get(name)), yaml, JsonSerializer.SerializeToElement(spec, JobSpecJson.Options)));
        }).Produces<JobDetail>();
        // A long poll: with `after`, answers once the job's change count differs from it (at most `wait` seconds, default 10).
        api.MapGet("/jobs/{name}/status", async (string name, long? after, double? wait, CancellationToken ct) =>
        {
            if (after is { } seen)
                await jobs.Get(name).WaitForChangeAsync(seen, TimeSpan.FromSeconds(wait is { } w && double.IsFinite(w) ? Math.Clamp(w, 0, 60) : 10), ct);
            return Results.Ok(jobs.Status(jobs.Get(name)));
        }).Produces<JobStatusView>();
        api.MapDelete("/jobs/{name}", async (string name) =>
        {
            await jobs.RemoveAsync(name);
            return Results.Ok(new JobNameReply(name));
        }).Produces<JobNameReply>();
        api.MapPost("/jobs/{name}/mirror", (string name, MirrorRequest req) =>
        {
            var runner = jobs.Get(name);
            var mode = req.Mode is null ? runner.Job.MirrorMode : ParseMode(req.Mode);
            runner.RequestMirror(mode);
            return Results.Accepted(value: new MirrorStarted(name, mode.ToString().ToLowerInvariant(), runner.Changes));
        }).Produces<MirrorStarted>(StatusCodes.Status202Accepted);
        api.MapPost("/jobs/{name}/verify", async (string name, VerifyRequest req, CancellationToken ct) =>
            Results.Ok(await jobs.Get(name).VerifyAsync(req.Checksum, req.Repair).WaitAsync(ct)))
            .Produces<VerifyReport>();

        MapReplication(api);

        api.MapGet("/status", () => Results.Ok(new StatusReply(
            new AgentName(ctx.Identity.Id, ctx.AgentName),
            JobStatuses(),
            [.. target.List().Select(h => target.Held(h.SourceId, h.Job) is { } held
                ? new HostedView(h.Job, "target", h.SourceId, h.SourceName, h.TargetPath, h.LastSeq, target.IsActive(h.SourceId, h.Job),
                    "write-order", held.View(ctx.Time.GetUtcNow()))
                : new HostedView(h.Job, "target", h.SourceId, h.SourceName, h.TargetPath, h.LastSeq, target.IsActive(h.SourceId, h.Job)))],
            [.. failover.Engines.Select(e => e.View())])))
            .Produces<StatusReply>();

        api.MapGet("/events", (string? job, long? after, int? limit) =>
            Results.Ok(ctx.Events.List(job, after ?? 0, Math.Clamp(limit ?? 100, 1, 10_000)).Reverse().Select(e => e.ToApi()).ToArray()))
            .Produces<ApiEvent[]>();
        // Each event's `data:` line is an ApiEvent, as GET /events lists them.
        api.MapGet("/events/stream", StreamEventsAsync).Produces(StatusCodes.Status200OK, responseType: null, contentType: "text/event-stream");
        MapFailover(api);
        MapFailback(api);
        MapNotify(api);
        MapConsole(api);
        MapMetrics(app);
        ConsoleAssets.Map(app);
    }

    /// <summary>200 while every supervised loop runs, 503 naming those that failed and wait to run again.</summary>
    private IResult Health()
    {
        var down = ctx.Loops.Down.Select(l => new DownLoop(l.Name, l.Job, l.Restarts)).ToArray();
        var reply = new HealthReply(down.Length == 0, down);
        return down.Length == 0 ? Results.Ok(reply) : Results.Json(reply, (JsonSerializerOptions?)null, null, StatusCodes.Status503ServiceUnavailable);
    }

    private JobStatusView[] JobStatuses() => [.. jobs.Runners.Select(jobs.Status).OrderBy(s => s.Name)];

    private async Task StreamEventsAsync(HttpContext http, string? job, CancellationToken ct)
    {
        http.Response.Headers.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        using var sub = ctx.Events.Subscribe();
        await http.Response.WriteAsync(": connected\n\n", ct);
        await http.Response.Body.FlushAsync(ct);
        try
        {
            await foreach (var ev in sub.Reader.ReadAllAsync(ct))
            {
                if (job is not null && ev.Job != job)
                    continue;
                await http.Response.WriteAsync($"id: {ev.Id}\nevent: event\ndata: {JsonSerializer.Serialize(ev.ToApi(), ApiJson.Default.ApiEvent)}\n\n", ct);
                await http.Response.Body.FlushAsync(ct);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static MirrorMode ParseMode(string mode) => mode.ToLowerInvariant() switch
    {
        "full" => MirrorMode.Full,
        "different" => MirrorMode.Different,
        "checksum" => MirrorMode.Checksum,
        _ => throw new JobRequestException($"unknown mirror mode '{mode}': use full, different or checksum"),
    };

    public static string? NormalizeId(string id)
    {
        var s = id.Replace(":", "", StringComparison.Ordinal).Trim().ToLowerInvariant();
        return s.Length == 64 && s.All(Uri.IsHexDigit) ? s : null;
    }

    public static IResult Problem(int status, string message, object? detail = null) => ApiProblem.Result(status, message, detail);
}
