using System.Text.Json.Nodes;
using Understudy.Agent.Events;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Failback;

/// <summary>
/// The whole restore and fail-back cycle with real agents on loopback (no identity steps): fail over,
/// clients write on the target, the passive source comes back, restore (a diverged file is parked under
/// its conflict name), fail-back (refused until it is safe), forward replication resumes, verify is clean.
/// </summary>
public sealed class FailbackAgentTests
{
    /// <summary>A pair not started yet, polling and restoring every 300 ms (a test may add to its environment).</summary>
    internal static AgentPair NewPair()
    {
        var pair = new AgentPair();
        foreach (var a in new[] { pair.Source, pair.Target })
        {
            a.Environment["UNDERSTUDY_PASSIVE_POLL_MS"] = "300";
            a.Environment["UNDERSTUDY_RESTORE_SYNC_MS"] = "300";
        }
        return pair;
    }

    internal static async Task<AgentPair> StartPairAsync()
    {
        var pair = NewPair();
        await pair.StartAsync();
        return pair;
    }

    [Fact]
    public async Task Failback_WholeCycle_ConflictParked_RefusedUntilSafe_ForwardReplicationResumes()
    {
        await using var pair = await StartPairAsync();
        var src = pair.SourceData;
        var dst = pair.TargetData;
        File.WriteAllText(Path.Combine(src, "a.txt"), "one");
        File.WriteAllText(Path.Combine(src, "b.txt"), "two");
        File.WriteAllText(Path.Combine(src, "keep.txt"), "deleted on the target during the fail-over");
        Directory.CreateDirectory(Path.Combine(src, "sub"));
        File.WriteAllText(Path.Combine(src, "sub", "c.txt"), "three");
        await pair.ApplyAsync(pair.JobYaml(extra: pair.FailoverYaml()));
        await pair.WaitMirroredAsync();
        await Wait.UntilAsync(async () => await pair.Target.FailoverStateAsync("job1") == "protecting", TimeSpan.FromSeconds(30), "monitoring");

        // A change the source queues but never sends: it diverges once the target changes the same file.
        (await pair.Source.CliAsync("pause", "job1")).EnsureOk();
        File.WriteAllText(Path.Combine(src, "b.txt"), "source change that never reached the target");
        await Wait.UntilAsync(async () => (await pair.Source.StatusAsync("job1"))["replication"]?["opsPending"]?.GetValue<long>() > 0,
            TimeSpan.FromSeconds(30), "the change to be queued");

        await pair.Target.ApproveFailoverAsync("job1");
        (await pair.Target.CliAsync("failover", "job1")).EnsureOk();
        Assert.Equal("failed-over", await pair.Target.FailoverStateAsync("job1"));
        (await pair.Source.CliAsync("resume", "job1")).EnsureOk();
        await Wait.UntilAsync(async () => (await pair.Source.StatusAsync("job1"))["state"]?.GetValue<string>() == "failed-over (passive)",
            TimeSpan.FromSeconds(30), "the source to turn passive");

        // Clients write on the target while it holds the job.
        File.WriteAllText(Path.Combine(dst, "a.txt"), "changed on the target");
        File.WriteAllText(Path.Combine(dst, "b.txt"), "the target's version of b");
        File.WriteAllText(Path.Combine(dst, "new.txt"), "new on the target");
        File.Delete(Path.Combine(dst, "keep.txt"));

        var early = await pair.Target.CliAsync("failback", "job1");
        Assert.Equal(2, early.ExitCode);
        Assert.Contains("understudy restore job1", early.Stderr, StringComparison.Ordinal);

        // The source agent is down: the restore waits for it, and fail-back is refused.
        pair.Source.Kill();
        var started = await pair.Target.CliAsync("restore", "job1", "--json");
        Assert.True(started.ExitCode == 0, started.Stdout + started.Stderr);
        Assert.Equal("restoring", await pair.Target.FailoverStateAsync("job1"));
        var unreachable = await pair.Target.CliAsync("failback", "job1");
        Assert.Equal(2, unreachable.ExitCode);
        Assert.Contains("not connected", unreachable.Stderr, StringComparison.Ordinal);

        // The source comes back, stays passive, connects by itself; the restore catches up.
        await pair.Source.StartAsync();
        (await pair.Target.CliAsync("restore", "job1", "--wait", "--timeout", "120")).EnsureOk();
        Assert.Equal("changed on the target", File.ReadAllText(Path.Combine(src, "a.txt")));
        Assert.Equal("the target's version of b", File.ReadAllText(Path.Combine(src, "b.txt")));
        Assert.Equal("new on the target", File.ReadAllText(Path.Combine(src, "new.txt")));
        Assert.False(File.Exists(Path.Combine(src, "keep.txt")));
        var parked = Directory.GetFiles(src, "b.txt.understudy-conflict-src-*");
        Assert.Single(parked);
        Assert.Equal("source change that never reached the target", File.ReadAllText(parked[0]));
        var failover = (await pair.Target.FailoverAsync("job1"))!;
        var restore = failover["restore"]!;
        Assert.Equal("b.txt", restore["conflicts"]![0]!["path"]!.GetValue<string>());
        // The reason says where the restore is now, not what it waited for when it was asked for.
        Assert.StartsWith("restore in sync", failover["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("failed-over (passive)", (await pair.Source.StatusAsync("job1"))["state"]?.GetValue<string>());

        // Changes keep following while the restore runs.
        File.WriteAllText(Path.Combine(dst, "later.txt"), "written during the restore");
        var fb = await pair.Target.CliAsync("failback", "job1", "--json");
        Assert.True(fb.ExitCode == 0, fb.Stdout + fb.Stderr);
        Assert.Equal("protecting", await pair.Target.FailoverStateAsync("job1"));
        Assert.Equal("written during the restore", File.ReadAllText(Path.Combine(src, "later.txt")));

        // Forward replication resumes without a full re-mirror: the difference mirror after fail-back sends only
        // what the source has and the target has not, the parked conflict file; everything else is identical.
        await Wait.UntilAsync(async () => (await pair.Source.StatusAsync("job1"))["state"]?.GetValue<string>() is "replicating" or "in-sync",
            TimeSpan.FromSeconds(60), "the source to replicate again");
        var sourceLog = await pair.Source.EventsAsync("job1");
        int resumedAt = sourceLog.FindIndex(e => e.Code() == EventCode.FailbackSourceResumed);
        Assert.True(resumedAt >= 0, sourceLog.Describe());
        var resumeMirror = sourceLog.Skip(resumedAt).First(e => e.Code() == EventCode.MirrorCompleted);
        var counts = resumeMirror.Data()!;
        Assert.Equal(1, counts["files"]!.GetValue<long>());
        Assert.Equal(new FileInfo(parked[0]).Length, counts["bytes"]!.GetValue<long>());
        Assert.True(File.Exists(Path.Combine(dst, Path.GetFileName(parked[0]))), "the parked conflict file reaches the target");
        File.WriteAllText(Path.Combine(src, "after.txt"), "after fail-back");
        await Wait.UntilAsync(() => File.Exists(Path.Combine(dst, "after.txt")) && File.ReadAllText(Path.Combine(dst, "after.txt")) == "after fail-back",
            TimeSpan.FromSeconds(60), "forward replication of a new file");
        await Wait.UntilAsync(async () => (await pair.Source.CliAsync("verify", "job1", "--checksum")).ExitCode == 0,
            TimeSpan.FromSeconds(60), "verify --checksum to be clean");

        var targetEvents = await pair.Target.EventsAsync("job1");
        Assert.Contains(EventCode.FailbackCompleted, targetEvents.Codes());
        Assert.Contains(targetEvents, e => e.Code() == EventCode.RestoreConflict && e.Data()?["path"]?.GetValue<string>() == "b.txt");
        Assert.Contains(EventCode.FailbackSourceResumed, (await pair.Source.EventsAsync("job1")).Codes());
    }
}
