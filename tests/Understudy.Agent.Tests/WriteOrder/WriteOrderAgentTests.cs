using System.Text.Json.Nodes;
using Understudy.Agent.Events;
using Understudy.Agent.Tests.Replication.Convergence;
using Understudy.Testing;
using Xunit;
using static Understudy.Agent.Tests.Failback.FailbackAgentTests;

namespace Understudy.Agent.Tests.WriteOrder;

/// <summary>
/// Write-order jobs end to end with real agents (docs/adr/0001-write-order-mode.md): the source path a btrfs
/// subvolume on a loop image, the replica on the host's ext4. Under continuous appends with fsync, the replica must
/// equal, entry for entry, the source's snapshot of the point the target says it holds; after kill -9 of the source
/// and a fail-over it must still be exactly one point, and the fail-over must state its RPO.
/// </summary>
public sealed class WriteOrderAgentTests
{
    private const string PointsDir = ".understudy-points";

    private static string WriteOrderYaml => """
        replication:
          consistency: write-order
        """;

    [Fact]
    public async Task JobApply_WriteOrderOnExt4_RefusedNamingTheFileSystem()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        var f = pair.Dir.Sub("wo.yaml");
        await File.WriteAllTextAsync(f, pair.JobYaml(extra: WriteOrderYaml));
        var r = await pair.Source.CliAsync("job", "apply", f);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("replication.consistency", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("is on ext4", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("btrfs", r.Stderr, StringComparison.Ordinal);
        Assert.Empty(JsonNode.Parse((await pair.Source.CliAsync("status", "--json")).Stdout)!["jobs"]!.AsArray());
    }

    [BtrfsFact]
    public async Task JobApply_WriteOrderOnADirectoryInsideASubvolume_Refused()
    {
        using var fs = new LoopBtrfs();
        var inside = Path.Combine(fs.Vol, "db");
        Directory.CreateDirectory(inside);
        await using var pair = new AgentPair();
        await pair.StartAsync();
        var f = pair.Dir.Sub("wo.yaml");
        await File.WriteAllTextAsync(f, pair.JobYaml(extra: WriteOrderYaml).Replace(pair.SourceData, inside, StringComparison.Ordinal));
        var r = await pair.Source.CliAsync("job", "apply", f);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("not its root", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("btrfs subvolume create", r.Stderr, StringComparison.Ordinal);
    }

    [BtrfsFact]
    public async Task WriteOrder_UnderAppendsWithFsync_ReplicaIsAPoint_AndAfterKillAndFailoverStillIs()
    {
        using var fs = new LoopBtrfs();
        await using var pair = await StartPairAsync();
        for (int i = 0; i < 3; i++)
            await File.WriteAllTextAsync(Path.Combine(fs.Vol, $"log{i}.txt"), $"log {i}\n");
        Directory.CreateDirectory(Path.Combine(fs.Vol, "sub"));
        await File.WriteAllTextAsync(Path.Combine(fs.Vol, "sub", "static.txt"), "unchanged");
        var yaml = pair.JobYaml(extra: WriteOrderYaml + "\n" + pair.FailoverYaml()).Replace(pair.SourceData, fs.Vol, StringComparison.Ordinal);
        await pair.ApplyAsync(yaml);
        await pair.WaitMirroredAsync();

        using var stopWriter = new CancellationTokenSource();
        var writer = Task.Run(() => Append(fs.Vol, stopWriter.Token));
        try
        {
            long first = await PointAsync(pair.Source, "jobs") ?? -1;
            await Wait.UntilAsync(async () => await PointAsync(pair.Source, "jobs") >= first + 3, TimeSpan.FromSeconds(60), "three more points shipped");

            // Paused, the source ships no more and keeps the snapshot the target holds: compare the two.
            (await pair.Source.CliAsync("pause", "job1")).EnsureOk();
            await Wait.UntilAsync(async () => (await pair.Source.StatusAsync("job1"))["state"]?.GetValue<string>() == "paused", TimeSpan.FromSeconds(30), "paused");
            // A point sent whole before the pause is still acknowledged: the source then knows what the target holds.
            long held = -1;
            await Wait.UntilAsync(async () =>
            {
                held = (await PointAsync(pair.Target, "hosted"))!.Value;
                return await PointAsync(pair.Source, "jobs") == held;
            }, TimeSpan.FromSeconds(30), "the paused source knows the point the target holds");
            AssertReplicaIsPoint(fs.Vol, held, pair.TargetData);
            (await pair.Source.CliAsync("resume", "job1")).EnsureOk();
            await Wait.UntilAsync(async () => await PointAsync(pair.Target, "hosted") >= held + 2, TimeSpan.FromSeconds(60), "points after resume");
            var status = await HostedAsync(pair.Target);
            Assert.Equal("write-order", status!["consistency"]!.GetValue<string>());
            Assert.NotNull(status["writeOrder"]!["ageSeconds"]);
        }
        finally
        {
            pair.Source.Kill(); // kill -9, mid-point most likely: the writer is still writing
            await stopWriter.CancelAsync();
            await writer;
        }

        await pair.Target.ApproveFailoverAsync("job1");
        (await pair.Target.CliAsync("failover", "job1")).EnsureOk();
        long final = (await PointAsync(pair.Target, "hosted"))!.Value;
        AssertReplicaIsPoint(fs.Vol, final, pair.TargetData);
        var stopped = Assert.Single(await pair.Target.EventsAsync("job1", 500), e => e.Code() == EventCode.ReplicationStopped);
        // The replica is one whole point, and the event says how much before the source's loss it stands for.
        var data = stopped.Data()!;
        Assert.Equal(("write-order", final), (data["consistency"]!.GetValue<string>(), data["point"]!.GetValue<long>()));
        Assert.True(data["rpoSeconds"]!.GetValue<double>() >= 0, stopped.Message());
    }

    /// <summary>Appends a line to one of three files and fsyncs it, without pause: a database's log, roughly.</summary>
    private static void Append(string dir, CancellationToken ct)
    {
        for (long n = 0; !ct.IsCancellationRequested; n++)
        {
            using var f = new FileStream(Path.Combine(dir, $"log{n % 3}.txt"), FileMode.Append, FileAccess.Write);
            f.Write(System.Text.Encoding.ASCII.GetBytes($"line {n} {new string('x', (int)(n % 200))}\n"));
            f.Flush(flushToDisk: true);
        }
    }

    /// <summary>The replica equals the source's snapshot of <paramref name="point"/> (type, size, content, mode, owner,
    /// mtime, xattrs, links), but for the agents' own directories.</summary>
    private static void AssertReplicaIsPoint(string vol, long point, string replica)
    {
        var snapshot = Path.Combine(vol, PointsDir, point.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(Directory.Exists(snapshot), $"the source keeps the snapshot of point {point}, which the target holds");
        static bool Ours(string rel) => rel is PointsDir or ".understudy-tmp";
        var diffs = TreeSnapshot.Compare(TreeSnapshot.Take(snapshot, Ours), TreeSnapshot.Take(replica, Ours));
        Assert.True(diffs.Count == 0, $"replica differs from point {point}:\n" + string.Join('\n', diffs.Take(20)));
    }

    private static async Task<JsonNode?> HostedAsync(AgentProcess target)
    {
        var r = await target.CliAsync("status", "--json");
        return JsonNode.Parse(r.Stdout)!["hosted"]!.AsArray().FirstOrDefault(h => h!["name"]!.GetValue<string>() == "job1");
    }

    /// <summary>writeOrder.pointApplied of job1 in status: under "jobs" on the source, "hosted" on the target.</summary>
    private static async Task<long?> PointAsync(AgentProcess agent, string section)
    {
        var r = await agent.CliAsync("status", "--json");
        var job = JsonNode.Parse(r.Stdout)![section]!.AsArray().FirstOrDefault(h => h!["name"]!.GetValue<string>() == "job1");
        return job?["writeOrder"]?["pointApplied"]?.GetValue<long?>();
    }
}
