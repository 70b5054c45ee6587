using System.Text.Json.Nodes;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Hosting;

/// <summary>
/// Pins the JSON of `status` and `events` (field names, the words of states): the API's typed responses, the CLI and
/// the console must keep reading exactly this. A change here is a change of the API (docs/api.md, docs/cli.md).
/// </summary>
public sealed class ApiJsonShapeTests
{
    private static string[] Keys(JsonNode? n) => [.. n!.AsObject().Select(p => p.Key)];

    [Fact]
    public async Task StatusAndEvents_KeepTheirFieldNames()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        File.WriteAllText(Path.Combine(pair.SourceData, "a.txt"), "a");
        await pair.ApplyAsync(pair.JobYaml());
        await pair.WaitMirroredAsync();
        await Wait.UntilAsync(async () => (await pair.Source.CliAsync("wait", "job1", "--until", "idle", "--timeout", "5")).ExitCode == 0,
            TimeSpan.FromSeconds(60), "the job to be idle");

        var status = JsonNode.Parse((await pair.Source.CliAsync("status", "--json")).EnsureOk().Stdout)!;
        Assert.Equal(["agent", "jobs", "hosted", "failover"], Keys(status));
        Assert.Equal(["id", "name"], Keys(status["agent"]));
        var job = status["jobs"]![0]!;
        Assert.Equal(["name", "role", "state", "reason", "target", "targetPath", "sourcePaths", "mirror", "mirrored", "lastMirrorAt",
            "lastVerify", "replication", "idle", "changes", "notProtected", "consistency", "writeOrder", "witness"], Keys(job));
        Assert.Contains(job["state"]!.GetValue<string>(), new[] { "in-sync", "replicating" });
        Assert.Equal(["mode", "phase", "filesDone", "filesTotal", "bytesDone", "bytesTotal", "bytesSent", "rateBytesPerSecond", "etaSeconds",
            "startedAt", "finishedAt", "skipped", "orphansKept", "orphansDeleted"], Keys(job["mirror"]));
        Assert.Equal(["count", "entries"], Keys(job["notProtected"]));
        Assert.Equal(["enabled", "captureMethod", "watch", "opsPending", "bytesPending", "oldestPendingAgeSeconds", "ackedSeq", "sentSeq", "lastSeq",
            "bandwidthBytesPerSecond", "compression", "paused", "remirrorRequired", "opsSent", "bytesSent"], Keys(job["replication"]));

        var target = JsonNode.Parse((await pair.Target.CliAsync("status", "--json")).EnsureOk().Stdout)!;
        Assert.Equal(["name", "role", "sourceId", "sourceName", "targetPath", "lastSeq", "connected", "consistency", "writeOrder"],
            Keys(target["hosted"]![0]));

        // A paused job says "paused" (the words are the API's, not the type's).
        (await pair.Source.CliAsync("pause", "job1")).EnsureOk();
        Assert.Equal("paused", (await pair.Source.StatusAsync("job1"))["state"]!.GetValue<string>());

        var ev = (await pair.Source.EventsAsync()).Last();
        Assert.Equal(["id", "time", "severity", "category", "job", "message", "data", "code", "codeName"], Keys(ev));
    }
}
