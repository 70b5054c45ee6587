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
    /// <summary>Replication controls: pause, resume, and settings changed while the job runs (not saved in the job file).</summary>
    public static void MapReplication(RouteGroupBuilder api)
    {
        api.MapPost("/jobs/{name}/pause", (string name, AgentHost a) =>
        {
            var r = a.Jobs.Get(name);
            r.Pause();
            return Results.Ok(new { name, state = r.State });
        });
        api.MapPost("/jobs/{name}/resume", (string name, AgentHost a) =>
        {
            var r = a.Jobs.Get(name);
            r.Resume();
            return Results.Ok(new { name, state = r.State });
        });
        api.MapPost("/jobs/{name}/replication", (string name, ReplicationSettingsRequest req, AgentHost a) =>
        {
            var r = a.Jobs.Get(name);
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
                a.Context.Events.Record(Severity.Info, "replication", name, $"settings changed: {string.Join(", ", changes)} (until the job is re-applied or the agent restarts)");
            return Results.Ok(new { name, bandwidth = r.Limiter.BytesPerSecond, compression = r.Compression.ToString().ToLowerInvariant() });
        });
    }
}
