using Understudy.Core.Jobs;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Understudy.Agent.Common;
using Understudy.Agent.Events;
using Understudy.Agent.WebConsole;
using Understudy.Agent.Hosting;
using Understudy.Agent.Jobs;
using Understudy.Agent.Source;
using Understudy.Agent.Target;
using Understudy.Agent.WriteOrder;

namespace Understudy.Agent.Api;

internal sealed record TrustRequest(string Id, string? Name);

internal sealed record ApplyRequest(string Yaml, string? FileName);

internal sealed record MirrorRequest(string? Mode);

internal sealed record VerifyRequest(bool Checksum, bool Repair);

/// <summary><see cref="WriteOrder"/>: a write-order job's point on this target (null for file mode).</summary>
internal sealed record HostedView(string Name, string Role, string SourceId, string SourceName, string TargetPath, long LastSeq, bool Connected,
    string Consistency = "file", WriteOrderView? WriteOrder = null);

/// <summary>The whole management API in one route table (docs/api.md). The CLI and the console use nothing else.</summary>
internal static partial class ApiRoutes
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1");
        api.MapGet("/health", () => Results.Ok(new { ok = true }));
        api.MapGet("/agent", (AgentHost a) => Results.Ok(new
        {
            id = a.Context.Identity.Id,
            name = a.Context.AgentName,
            version = AgentVersion.Current,
            peer = a.PeerEndPoint?.ToString(),
            dataDir = a.Context.DataDir,
        }));

        api.MapGet("/trust", (AgentHost a) => Results.Ok(a.Context.Store.ListTrust()));
        api.MapPost("/trust", (TrustRequest req, AgentHost a) =>
        {
            var id = NormalizeId(req.Id);
            if (id is null)
                return Problem(400, $"'{req.Id}' is not an agent ID: expected 64 hex characters (run 'understudy id' on that agent)");
            a.Context.Store.AddTrust(id, string.IsNullOrWhiteSpace(req.Name) ? id[..12] : req.Name.Trim());
            a.Context.Events.Record(EventCode.PeerTrusted, Severity.Security, "trust", null, $"trusted peer {id} ({req.Name ?? "unnamed"})");
            return Results.Ok(new { id });
        });
        api.MapDelete("/trust/{id}", (string id, AgentHost a) =>
        {
            var n = NormalizeId(id);
            if (n is null || !a.Context.Store.RemoveTrust(n))
                return Problem(404, $"{id} is not in the trust list");
            a.Context.Events.Record(EventCode.PeerTrustRemoved, Severity.Security, "trust", null, $"removed trust of peer {n}");
            return Results.Ok(new { id = n });
        });

        api.MapGet("/jobs", (AgentHost a) => Results.Ok(a.Jobs.Runners.Select(a.Jobs.Status).OrderBy(s => s.Name)));
        api.MapPost("/jobs", async (ApplyRequest req, AgentHost a) =>
        {
            var spec = await a.Jobs.ApplyAsync(req.Yaml, req.FileName ?? "job.yaml");
            return Results.Ok(new { name = spec.Name });
        });
        api.MapGet("/jobs/{name}", (string name, AgentHost a) =>
        {
            var (spec, yaml) = a.Jobs.GetSpec(name);
            // The spec always in the job file's own words (JobSpecJson), never the API's web defaults.
            return Results.Ok(new { status = a.Jobs.Status(a.Jobs.Get(name)), yaml, spec = JsonSerializer.SerializeToElement(spec, JobSpecJson.Options) });
        });
        // A long poll: with `after`, answers once the job's change count differs from it (at most `wait` seconds, default 10).
        api.MapGet("/jobs/{name}/status", async (string name, long? after, double? wait, AgentHost a, CancellationToken ct) =>
        {
            if (after is { } seen)
                await a.Jobs.Get(name).WaitForChangeAsync(seen, TimeSpan.FromSeconds(wait is { } w && double.IsFinite(w) ? Math.Clamp(w, 0, 60) : 10), ct);
            return Results.Ok(a.Jobs.Status(a.Jobs.Get(name)));
        });
        api.MapDelete("/jobs/{name}", async (string name, AgentHost a) =>
        {
            await a.Jobs.RemoveAsync(name);
            return Results.Ok(new { name });
        });
        api.MapPost("/jobs/{name}/mirror", (string name, MirrorRequest req, AgentHost a) =>
        {
            var runner = a.Jobs.Get(name);
            var mode = req.Mode is null ? runner.Job.MirrorMode : ParseMode(req.Mode);
            runner.RequestMirror(mode);
            return Results.Accepted(value: new { name, mode = mode.ToString().ToLowerInvariant(), changes = runner.Changes });
        });
        api.MapPost("/jobs/{name}/verify", async (string name, VerifyRequest req, AgentHost a, CancellationToken ct) =>
            Results.Ok(await a.Jobs.Get(name).VerifyAsync(req.Checksum, req.Repair).WaitAsync(ct)));

        MapReplication(api);

        api.MapGet("/status", (AgentHost a) => Results.Ok(new
        {
            agent = new { id = a.Context.Identity.Id, name = a.Context.AgentName },
            jobs = a.Jobs.Runners.Select(a.Jobs.Status).OrderBy(s => s.Name),
            hosted = a.Target.List().Select(h => a.Target.Held(h.SourceId, h.Job) is { } held
                ? new HostedView(h.Job, "target", h.SourceId, h.SourceName, h.TargetPath, h.LastSeq, a.Target.IsActive(h.SourceId, h.Job),
                    "write-order", held.View(a.Context.Time.GetUtcNow()))
                : new HostedView(h.Job, "target", h.SourceId, h.SourceName, h.TargetPath, h.LastSeq, a.Target.IsActive(h.SourceId, h.Job))),
            failover = a.Failover.Engines.Select(e => e.View()),
        }));

        api.MapGet("/events", (string? job, long? after, int? limit, AgentHost a) =>
            Results.Ok(a.Context.Events.List(job, after ?? 0, Math.Clamp(limit ?? 100, 1, 10_000)).Reverse()));
        api.MapGet("/events/stream", StreamEventsAsync);
        MapFailover(api);
        MapFailback(api);
        MapConsole(api);
        ConsoleAssets.Map(app);
    }

    private static async Task StreamEventsAsync(HttpContext http, string? job, AgentHost a, CancellationToken ct)
    {
        http.Response.Headers.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        using var sub = a.Context.Events.Subscribe();
        await http.Response.WriteAsync(": connected\n\n", ct);
        await http.Response.Body.FlushAsync(ct);
        try
        {
            await foreach (var ev in sub.Reader.ReadAllAsync(ct))
            {
                if (job is not null && ev.Job != job)
                    continue;
                await http.Response.WriteAsync($"id: {ev.Id}\nevent: event\ndata: {JsonSerializer.Serialize(ev, EventJson.Options)}\n\n", ct);
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
