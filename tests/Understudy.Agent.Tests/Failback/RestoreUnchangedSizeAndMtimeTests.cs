using System.Text;
using Understudy.Agent.Tests.Replication.Convergence;
using Understudy.Agent.Tests.Replication.Faults.Support;
using Understudy.Testing;
using Xunit;
using static Understudy.Agent.Tests.Failback.FailbackAgentTests;

namespace Understudy.Agent.Tests.Failback;

/// <summary>
/// Client changes on the target during a fail-over that keep a file's size and mtime: an xattr set, a rewrite that
/// puts the old mtime back. A restore that compares size and mtime only left them out, and the fail-back's
/// difference mirror too, so the source went on without them while `idle` said identical (convergence seeds 9 and
/// 14 with a Failover step; issue 16, item 2's defect in the restore's direction).
/// </summary>
public sealed class RestoreUnchangedSizeAndMtimeTests
{
    [Fact]
    public async Task Restore_XattrAndSameSizeRewriteWithOldMtimeOnTheTarget_ReachTheSource()
    {
        await using var pair = await StartPairAsync();
        var src = pair.SourceData;
        var dst = pair.TargetData;
        File.WriteAllText(Path.Combine(src, "attr.txt"), "a file whose xattr clients set");
        File.WriteAllText(Path.Combine(src, "same.txt"), "old content, same size");
        await pair.ApplyAsync(pair.JobYaml(extra: pair.FailoverYaml()));
        await pair.WaitMirroredAsync();
        await Wait.UntilAsync(async () => await pair.Target.FailoverStateAsync("job1") == "protecting", TimeSpan.FromSeconds(30), "monitoring");

        await pair.Target.ApproveFailoverAsync("job1");
        (await pair.Target.CliAsync("failover", "job1")).EnsureOk();
        await Wait.UntilAsync(async () => (await pair.Source.StatusAsync("job1"))["state"]?.GetValue<string>() == "failed-over (passive)",
            TimeSpan.FromSeconds(30), "the source to turn passive");

        ChurnLibc.SetXattr(Path.Combine(dst, "attr.txt"), "user.note", Encoding.ASCII.GetBytes("set on the target"));
        var same = Path.Combine(dst, "same.txt");
        var st = SnapshotLibc.Lstat(same);
        File.WriteAllText(same, "new content, same size");
        ChurnLibc.SetTimes(same, st.MtimeSec, st.MtimeNsec);

        var restored = await pair.Target.CliAsync("restore", "job1", "--wait", "--timeout", "60");
        Assert.True(restored.ExitCode == 0, restored.Stdout + restored.Stderr);
        Assert.Equal("new content, same size", File.ReadAllText(Path.Combine(src, "same.txt")));
        Assert.Contains("user.note", ChurnLibc.ListUserXattrs(Path.Combine(src, "attr.txt")));

        (await pair.Target.CliAsync("failback", "job1")).EnsureOk();
        Assert.Equal("new content, same size", File.ReadAllText(Path.Combine(src, "same.txt")));
        Assert.Contains("user.note", ChurnLibc.ListUserXattrs(Path.Combine(src, "attr.txt")));
    }
}
