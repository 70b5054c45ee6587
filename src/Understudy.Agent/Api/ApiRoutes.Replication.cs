using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Understudy.Agent.Events;
using Understudy.Agent.Hosting;
using Understudy.Agent.Jobs;
using Understudy.Core.Jobs;

namespace Understudy.Agent.Api;

/// <summary>Runtime replication settings; a null field is left as it is.</summary>
internal sealed record ReplicationSettingsRequest(string? Bandwidth, string? Compression);

internal static partial class ApiRoutes
{
    /// <summary>Job controls: stop and start the whole job, pause and resume sending, and settings changed while
    /// the job runs (not saved in the job file).</summary>
    public static void MapReplication(RouteGroupBuilder api)
    {
        api.MapPost("/jobs/{name}/stop", async (string name, AgentHost a) =>
        {
            var r = await a.Jobs.StopAsync(name);
            return Results.Ok(new { name, state = r.State, reason = r.Reason });
        }).WithSummary("Stop the job's mirror, replication and change capture; its queue and state are kept, also across restarts, until start");
        api.MapPost("/jobs/{name}/start", async (string name, AgentHost a) =>
        {
            var r = await a.Jobs.StartAsync(name);
            return Results.Ok(new { name, state = r.State, reason = r.Reason });
        }).WithSummary("Start a stopped job: a difference mirror catches up, then replication resumes");
        api.MapPost("/jobs/{name}/pause", (string name, AgentHost a) =>
        {
            var r = Running(a, name, "pause");
            r.Pause();
            return Results.Ok(new { name, state = r.State, reason = r.Reason });
        }).WithSummary("Stop sending the job's changes; they keep being captured into the durable queue");
        api.MapPost("/jobs/{name}/resume", (string name, AgentHost a) =>
        {
            var r = Running(a, name, "resume");
            r.Resume();
            return Results.Ok(new { name, state = r.State, reason = r.Reason });
        }).WithSummary("Resume sending a paused job's changes");
        api.MapPost("/jobs/{name}/replication", (string name, ReplicationSettingsRequest req, AgentHost a) =>
        {
            var r = Running(a, name, "change its settings");
            var changes = new List<string>();
            if (req.Bandwidth is { } bw)
            {
                if (!JobValues.TryParseSize(bw.Trim(), out long bytes) || bytes < 0)
                    throw new JobRequestException($"bandwidth '{bw}': expected bytes per second like 10MiB, or 0 for unlimited");
                r.Limiter.BytesPerSecond = bytes;
                changes.Add($"bandwidth {(bytes == 0 ? "unlimited" : JobValues.FormatSize(bytes) + "/s")}");
            }
            if (req.Compression is { } c)
            {
                r.Compression = c.Trim().ToLowerInvariant() switch
                {
                    "none" => Compression.None,
                    "lz4" => Compression.Lz4,
                    "zstd" => Compression.Zstd,
                    _ => throw new JobRequestException($"compression '{c}': use none, lz4 or zstd"),
                };
                changes.Add($"compression {r.Compression.ToString().ToLowerInvariant()}");
            }
            if (changes.Count > 0)
                a.Context.Events.Record(EventCode.ReplicationSettingsChanged, Severity.Info, "replication", name, $"settings changed: {string.Join(", ", changes)} (until the job is re-applied or the agent restarts)");
            return Results.Ok(new { name, bandwidth = r.Limiter.BytesPerSecond, compression = r.Compression.ToString().ToLowerInvariant() });
        });
    }

    /// <summary>The job's runner, unless the job is stopped (409: a stopped job's runner is replaced when it starts).</summary>
    private static JobRunner Running(AgentHost a, string name, string what)
    {
        var r = a.Jobs.Get(name);
        if (r.Stopped)
            throw new JobRequestException($"job '{name}' is stopped: 'understudy start {name}' first, then {what}", 409);
        return r;
    }
}
