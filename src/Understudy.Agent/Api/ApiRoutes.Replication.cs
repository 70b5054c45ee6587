using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Understudy.Agent.Events;
using Understudy.Agent.Jobs;
using Understudy.Core.Api;
using Understudy.Core.Jobs;

namespace Understudy.Agent.Api;

internal sealed partial class ApiRoutes
{
    /// <summary>Job controls: stop and start the whole job, pause and resume sending, and settings changed while
    /// the job runs (not saved in the job file).</summary>
    private void MapReplication(RouteGroupBuilder api)
    {
        api.MapPost("/jobs/{name}/stop", async (string name) =>
        {
            var r = await jobs.StopAsync(name);
            return Results.Ok(new JobControlReply(name, r.State, r.Reason));
        }).Produces<JobControlReply>().WithSummary("Stop the job's mirror, replication and change capture; its queue and state are kept, also across restarts, until start");
        api.MapPost("/jobs/{name}/start", async (string name) =>
        {
            var r = await jobs.StartAsync(name);
            return Results.Ok(new JobControlReply(name, r.State, r.Reason));
        }).Produces<JobControlReply>().WithSummary("Start a stopped job: a difference mirror catches up, then replication resumes");
        api.MapPost("/jobs/{name}/pause", (string name) =>
        {
            var r = Running(name, "pause");
            r.Pause();
            return Results.Ok(new JobControlReply(name, r.State, r.Reason));
        }).Produces<JobControlReply>().WithSummary("Stop sending the job's changes; they keep being captured into the durable queue");
        api.MapPost("/jobs/{name}/resume", (string name) =>
        {
            var r = Running(name, "resume");
            r.Resume();
            return Results.Ok(new JobControlReply(name, r.State, r.Reason));
        }).Produces<JobControlReply>().WithSummary("Resume sending a paused job's changes");
        api.MapPost("/jobs/{name}/replication", (string name, ReplicationSettingsRequest req) =>
        {
            var r = Running(name, "change its settings");
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
                ctx.Events.Record(EventCode.ReplicationSettingsChanged, Severity.Info, "replication", name, $"settings changed: {string.Join(", ", changes)} (until the job is re-applied or the agent restarts)");
            return Results.Ok(new ReplicationSettingsReply(name, r.Limiter.BytesPerSecond, r.Compression.ToString().ToLowerInvariant()));
        }).Produces<ReplicationSettingsReply>();
    }

    /// <summary>The job's runner, unless the job is stopped (409: a stopped job's runner is replaced when it starts).</summary>
    private JobRunner Running(string name, string what)
    {
        var r = jobs.Get(name);
        if (r.Stopped)
            throw new JobRequestException($"job '{name}' is stopped: 'understudy start {name}' first, then {what}", 409);
        return r;
    }
}
