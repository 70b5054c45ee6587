using Understudy.Agent.Events;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Mirror;

public sealed class CrashRecoveryTests
{
    [Fact]
    public async Task Mirror_TargetKilledMidway_RestartConverges_NoPartialFileEverUnderARealName()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        var expected = PartialFileWatch.Generate(pair.SourceData, small: 600, bigMiB: [8, 8, 12, 16]);
        await using var watch = new PartialFileWatch(pair.TargetData, expected);

        // A bandwidth limit keeps each large file in flight for a second or more, so the poll below sees its
        // temporary file even on a loaded machine (unthrottled, the whole mirror can finish between two polls).
        await pair.ApplyAsync(pair.JobYaml(mode: "full", extra: "replication:\n  bandwidth: 8MiB"));
        // Kill the moment the target is writing: a temporary file exists, so the mirror is under way.
        await Wait.UntilAsync(() => PartialFileWatch.TempFiles(pair.TargetData).Count > 0, TimeSpan.FromSeconds(120), "the mirror to start writing");
        pair.Target.Kill();
        var leftover = PartialFileWatch.TempFiles(pair.TargetData);
        Assert.True(leftover.Count > 0, "the kill should leave incomplete temporary files behind");
        long passesAtKill = watch.Passes;

        await pair.Target.StartAsync();
        await pair.WaitMirroredAsync();
        await Wait.UntilAsync(() => watch.Passes > passesAtKill + 2, TimeSpan.FromSeconds(60), "the target scan to see the converged tree");

        Assert.Empty(watch.Violations);
        var verify = await pair.Source.CliAsync("verify", "job1", "--checksum");
        Assert.True(verify.ExitCode == 0, verify.Stdout + verify.Stderr);
        Assert.Empty(PartialFileWatch.TempFiles(pair.TargetData));
        Assert.Contains(EventCode.ApplyTempFilesRemoved, (await pair.Target.EventsAsync("job1")).Codes());
    }
}
