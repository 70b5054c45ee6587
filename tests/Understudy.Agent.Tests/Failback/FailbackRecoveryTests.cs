using Understudy.Agent.Events;
using Understudy.Testing;
using Xunit;
using static Understudy.Agent.Tests.Failback.FailbackAgentTests;

namespace Understudy.Agent.Tests.Failback;

/// <summary>The stop-for-inspection conflict policy, and a target agent killed in the middle of a fail-back.</summary>
public sealed class FailbackRecoveryTests
{
    /// <summary>Replicated, then failed over and passive, with a queued source change to b.txt and the target's own change to it.</summary>
    private static async Task<AgentPair> DivergedAsync(string failoverExtra = "", string jobExtra = "", Action<AgentPair>? prepare = null)
    {
        var pair = await StartPairAsync();
        prepare?.Invoke(pair);
        File.WriteAllText(Path.Combine(pair.SourceData, "b.txt"), "two");
        await pair.ApplyAsync(pair.JobYaml(extra: pair.FailoverYaml(failoverExtra) + "\n" + jobExtra));
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
        File.WriteAllText(Path.Combine(pair.TargetData, "b.txt"), "the target's version of b");
        return pair;
    }

    /// <summary>A planned fail-over of a job paused on the source (issue 16, item 10): the paused runner sends nothing,
    /// but it must still learn that the target took over, or no restore can ever reach it.</summary>
    [Fact]
    public async Task Failover_JobPausedOnTheSource_SourceGoesPassive_RestoreAndFailbackComplete()
    {
        await using var pair = await StartPairAsync();
        File.WriteAllText(Path.Combine(pair.SourceData, "a.txt"), "one");
        await pair.ApplyAsync(pair.JobYaml(extra: pair.FailoverYaml()));
        await pair.WaitMirroredAsync();
        await Wait.UntilAsync(async () => await pair.Target.FailoverStateAsync("job1") == "protecting", TimeSpan.FromSeconds(30), "monitoring");
        (await pair.Source.CliAsync("pause", "job1")).EnsureOk();

        await pair.Target.ApproveFailoverAsync("job1");
        (await pair.Target.CliAsync("failover", "job1")).EnsureOk();
        await Wait.UntilAsync(async () => (await pair.Source.StatusAsync("job1"))["state"]?.GetValue<string>() == "failed-over (passive)",
            TimeSpan.FromSeconds(30), "the paused source to turn passive");
        File.WriteAllText(Path.Combine(pair.TargetData, "a.txt"), "changed on the target");

        (await pair.Target.CliAsync("restore", "job1", "--wait", "--timeout", "60")).EnsureOk();
        Assert.Equal("changed on the target", File.ReadAllText(Path.Combine(pair.SourceData, "a.txt")));
        (await pair.Target.CliAsync("failback", "job1")).EnsureOk();
        Assert.Equal("protecting", await pair.Target.FailoverStateAsync("job1"));
        // Fail-back gives the job back as the operator left it: paused, until 'understudy resume'.
        await Wait.UntilAsync(async () => (await pair.Source.StatusAsync("job1"))["state"]?.GetValue<string>() == "paused",
            TimeSpan.FromSeconds(30), "the source to leave passive mode, still paused");
    }

    [Fact]
    public async Task Restore_ConflictsManual_StopsAtDivergedFile_ForceParksIt()
    {
        await using var pair = await DivergedAsync(jobExtra: "restore:\n  conflicts: manual\n");
        var stopped = await pair.Target.CliAsync("restore", "job1", "--wait", "--timeout", "120");
        Assert.True(stopped.ExitCode == 2, stopped.Stderr + (await pair.Target.CliAsync("events", "--job", "job1")).Stdout + (await pair.Source.CliAsync("events", "--job", "job1")).Stdout);
        Assert.Contains("restore stopped", stopped.Stderr, StringComparison.Ordinal);
        Assert.Equal("source change that never reached the target", File.ReadAllText(Path.Combine(pair.SourceData, "b.txt")));
        var refused = await pair.Target.CliAsync("failback", "job1");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("--force", refused.Stderr, StringComparison.Ordinal);

        (await pair.Target.CliAsync("restore", "job1", "--force", "--wait", "--timeout", "120")).EnsureOk();
        Assert.Equal("the target's version of b", File.ReadAllText(Path.Combine(pair.SourceData, "b.txt")));
        var parked = Directory.GetFiles(pair.SourceData, "b.txt.understudy-conflict-src-*");
        Assert.Equal("source change that never reached the target", File.ReadAllText(Assert.Single(parked)));
        (await pair.Target.CliAsync("failback", "job1")).EnsureOk();
        Assert.Equal("protecting", await pair.Target.FailoverStateAsync("job1"));
    }

    [Fact]
    public async Task Failback_TargetKilledInPreScript_FinishesAfterRestart()
    {
        var marker = Path.Combine(Path.GetTempPath(), "ustd-killed-" + Guid.NewGuid().ToString("N"));
        try
        {
            // Kills its agent (the parent) once, in the middle of the fail-back; idempotent on the re-run after the restart.
            await using var pair = await DivergedAsync(failoverExtra: "  scripts:\n    pre_failback: [ { run: kill.sh } ]",
                prepare: p => p.Target.WriteScript("kill.sh", $"if [ ! -f {marker} ]; then touch {marker}; kill -9 $PPID; fi\nexit 0"));
            (await pair.Target.CliAsync("restore", "job1", "--wait", "--timeout", "120")).EnsureOk();
            var killed = await pair.Target.CliAsync("failback", "job1");
            Assert.NotEqual(0, killed.ExitCode);
            Assert.True(File.Exists(marker));

            await pair.Target.StartAsync();
            await Wait.UntilAsync(async () => await pair.Target.FailoverStateAsync("job1") == "protecting", TimeSpan.FromSeconds(120), "the fail-back to finish after the restart");
            await Wait.UntilAsync(async () => (await pair.Source.StatusAsync("job1"))["state"]?.GetValue<string>() != "failed-over (passive)",
                TimeSpan.FromSeconds(60), "the source to leave passive mode");
            var events = await pair.Target.EventsAsync("job1");
            Assert.Contains(events, e => e.Code() == EventCode.StepsResumed && e.Message().Contains("failback", StringComparison.Ordinal));
            Assert.Contains(EventCode.FailbackCompleted, events.Codes());
            Assert.Equal("the target's version of b", File.ReadAllText(Path.Combine(pair.SourceData, "b.txt")));
        }
        finally
        {
            File.Delete(marker);
        }
    }
}
