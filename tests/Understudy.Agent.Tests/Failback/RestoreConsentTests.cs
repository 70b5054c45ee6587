using Understudy.Agent.Events;
using Understudy.Testing;
using Xunit;
using static Understudy.Agent.Tests.Failback.FailbackAgentTests;

namespace Understudy.Agent.Tests.Failback;

/// <summary>
/// Issue 19, item 4: the target alone decided a restore's conflict policy (its copy of the job), so a target whose copy
/// said discard-source deleted the source's diverged files. The source's own restore.conflicts wins, and the source's
/// event log says so.
/// </summary>
public sealed class RestoreConsentTests
{
    [Fact]
    public async Task Restore_TargetSaysDiscardSource_SourceJobSaysKeepTarget_SourceVersionIsParked()
    {
        await using var pair = await StartPairAsync();
        File.WriteAllText(Path.Combine(pair.SourceData, "b.txt"), "two");
        // The target keeps the job as it was when the fail-over began: discard-source.
        await pair.ApplyAsync(pair.JobYaml(extra: pair.FailoverYaml() + "\nrestore:\n  conflicts: discard-source\n"));
        await pair.WaitMirroredAsync();
        await Wait.UntilAsync(async () => await pair.Target.FailoverStateAsync("job1") == "protecting", TimeSpan.FromSeconds(30), "monitoring");
        (await pair.Source.CliAsync("pause", "job1")).EnsureOk();
        File.WriteAllText(Path.Combine(pair.SourceData, "b.txt"), "source change that never reached the target");
        await Wait.UntilAsync(async () => (await pair.Source.StatusAsync("job1"))["replication"]?["opsPending"]?.GetValue<long>() > 0,
            TimeSpan.FromSeconds(30), "the change to be queued");
        await pair.Target.ApproveFailoverAsync("job1");
        (await pair.Target.CliAsync("failover", "job1")).EnsureOk();
        (await pair.Source.CliAsync("resume", "job1")).EnsureOk();
        await Wait.UntilAsync(async () => (await pair.Source.StatusAsync("job1"))["state"]?.GetValue<string>() == "failed-over (passive)",
            TimeSpan.FromSeconds(30), "the source to turn passive");
        // The source's own job now says keep-target (the default): that is its consent, whatever the target's copy says.
        await pair.ApplyAsync(pair.JobYaml(extra: pair.FailoverYaml()));
        File.WriteAllText(Path.Combine(pair.TargetData, "b.txt"), "the target's version of b");

        (await pair.Target.CliAsync("restore", "job1", "--wait", "--timeout", "120")).EnsureOk();
        Assert.Equal("the target's version of b", File.ReadAllText(Path.Combine(pair.SourceData, "b.txt")));
        var parked = Directory.GetFiles(pair.SourceData, "b.txt.understudy-conflict-src-*");
        Assert.Equal("source change that never reached the target", File.ReadAllText(Assert.Single(parked)));
        var events = await pair.Source.EventsAsync("job1");
        Assert.Contains(EventCode.RestorePolicyKept, events.Codes());
        Assert.Contains(events, e => e.Code() == EventCode.RestoreConflict && e.Message().Contains("is kept as", StringComparison.Ordinal));
    }
}
