using Understudy.Agent.Events;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Security;

/// <summary>
/// Issue 19, item 3: a trusted source may not reach the target agent's own data directory
/// (api-token, identity.pfx, state.db) through a symlink it planted in its replica, nor through
/// one planted on the target path after the job was registered.
/// </summary>
public sealed class TargetDataDirGuardTests
{
    private static readonly string[] s_agentFiles = ["api-token", "identity.pfx", "state.db"];

    [Fact]
    public async Task TargetPath_ThroughSymlinkIntoDataDir_IsRefused_AtApplyAndAtSessionStart()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        File.WriteAllText(Path.Combine(pair.SourceData, "planted.txt"), "from the source");
        // The source replicates a symlink to the target's data directory into its replica...
        File.CreateSymbolicLink(Path.Combine(pair.SourceData, "ln"), pair.Target.DataDir);
        await pair.ApplyAsync(pair.JobYaml());
        await pair.WaitMirroredAsync();
        Assert.Equal(pair.Target.DataDir, new FileInfo(Path.Combine(pair.TargetData, "ln")).LinkTarget);

        // ...then points its job through it.
        await pair.ApplyAsync(pair.JobYaml(targetPath: Path.Combine(pair.TargetData, "ln")));
        var w = await pair.Source.CliAsync("wait", "job1", "--until", "mirrored", "--timeout", "60");
        Assert.Equal(1, w.ExitCode);
        Assert.Contains("data directory", w.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(pair.Target.DataDir, "planted.txt")), "the source wrote into the target's data directory");
        foreach (var f in s_agentFiles)
            Assert.True(File.Exists(Path.Combine(pair.Target.DataDir, f)), f);

        // A link planted on the target path after registration is caught when the next session starts.
        var sub = pair.Dir.Sub("replica2/sub");
        await pair.ApplyAsync(pair.JobYaml(targetPath: sub));
        await pair.WaitMirroredAsync();
        Assert.True(File.Exists(Path.Combine(sub, "planted.txt")));
        await pair.Target.StopAsync();
        Directory.Move(sub, sub + ".old");
        File.CreateSymbolicLink(sub, pair.Target.DataDir);
        File.WriteAllText(Path.Combine(pair.SourceData, "later.txt"), "after the link");
        await pair.Target.StartAsync();
        await Wait.UntilAsync(async () => (await pair.Target.EventsAsync(limit: 200)).Any(e => e.Code() == EventCode.JobRefused && e.Message().Contains("data directory", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(90), "the reconnecting session refused");
        Assert.False(File.Exists(Path.Combine(pair.Target.DataDir, "later.txt")), "the source wrote into the target's data directory");
        Assert.False(File.Exists(Path.Combine(pair.Target.DataDir, "planted.txt")), "the source wrote into the target's data directory");
        foreach (var f in s_agentFiles)
            Assert.True(File.Exists(Path.Combine(pair.Target.DataDir, f)), f);
    }
}
