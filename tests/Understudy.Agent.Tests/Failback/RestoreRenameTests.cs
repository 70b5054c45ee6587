using Understudy.Agent.Events;
using Understudy.Testing;
using Xunit;
using static Understudy.Agent.Tests.Failback.FailbackAgentTests;

namespace Understudy.Agent.Tests.Failback;

/// <summary>
/// What every client does during a fail-over: rename. The restore's difference mirror turns a file found on the
/// source under its old name into a rename there (RenameOp), so the passive source's apply loop must take every
/// operation the target's takes (issue 16, item 5: it had no rename case and the restore link broke for ever).
/// </summary>
public sealed class RestoreRenameTests
{
    [Fact]
    public async Task Restore_FileAndDirectoryRenamedOnTheTarget_SourceEndsWithTheNewNames_FailbackCompletes()
    {
        await using var pair = await StartPairAsync();
        var src = pair.SourceData;
        var dst = pair.TargetData;
        File.WriteAllText(Path.Combine(src, "old-name.txt"), "a file clients rename");
        Directory.CreateDirectory(Path.Combine(src, "old-dir", "sub"));
        File.WriteAllText(Path.Combine(src, "old-dir", "x.txt"), "in a directory clients rename");
        File.WriteAllText(Path.Combine(src, "old-dir", "sub", "y.txt"), "deeper in it");
        await pair.ApplyAsync(pair.JobYaml(extra: pair.FailoverYaml()));
        await pair.WaitMirroredAsync();
        await Wait.UntilAsync(async () => await pair.Target.FailoverStateAsync("job1") == "protecting", TimeSpan.FromSeconds(30), "monitoring");

        await pair.Target.ApproveFailoverAsync("job1");
        (await pair.Target.CliAsync("failover", "job1")).EnsureOk();
        await Wait.UntilAsync(async () => (await pair.Source.StatusAsync("job1"))["state"]?.GetValue<string>() == "failed-over (passive)",
            TimeSpan.FromSeconds(30), "the source to turn passive");

        File.Move(Path.Combine(dst, "old-name.txt"), Path.Combine(dst, "new-name.txt"));
        Directory.Move(Path.Combine(dst, "old-dir"), Path.Combine(dst, "new-dir"));

        var restored = await pair.Target.CliAsync("restore", "job1", "--wait", "--timeout", "60");
        Assert.True(restored.ExitCode == 0, restored.Stdout + restored.Stderr + (await pair.Target.CliAsync("events", "--job", "job1")).Stdout);
        AssertRenamed(src);
        var targetEvents = (await pair.Target.EventsAsync("job1")).Codes();
        Assert.DoesNotContain(EventCode.RestoreLinkBroken, targetEvents);
        Assert.DoesNotContain(EventCode.RestoreStoppedByConflict, targetEvents);

        var fb = await pair.Target.CliAsync("failback", "job1");
        Assert.True(fb.ExitCode == 0, fb.Stdout + fb.Stderr);
        Assert.Equal("protecting", await pair.Target.FailoverStateAsync("job1"));
        AssertRenamed(src);
        await Wait.UntilAsync(async () => (await pair.Source.CliAsync("verify", "job1", "--checksum")).ExitCode == 0,
            TimeSpan.FromSeconds(60), "verify --checksum to be clean after fail-back");
    }

    private static void AssertRenamed(string src)
    {
        Assert.Equal("a file clients rename", File.ReadAllText(Path.Combine(src, "new-name.txt")));
        Assert.Equal("in a directory clients rename", File.ReadAllText(Path.Combine(src, "new-dir", "x.txt")));
        Assert.Equal("deeper in it", File.ReadAllText(Path.Combine(src, "new-dir", "sub", "y.txt")));
        Assert.False(File.Exists(Path.Combine(src, "old-name.txt")), "the old file name is gone from the source");
        Assert.False(Directory.Exists(Path.Combine(src, "old-dir")), "the old directory name is gone from the source");
    }
}
