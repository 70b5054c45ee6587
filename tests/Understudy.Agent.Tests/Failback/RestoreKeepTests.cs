using Understudy.Agent.Events;
using Understudy.Testing;
using Xunit;
using static Understudy.Agent.Tests.Failback.FailbackAgentTests;

namespace Understudy.Agent.Tests.Failback;

/// <summary>
/// Issue 19, item 4, second half: what a restore replaces or removes on the source that is no conflict (it was
/// replicated before; the target changed or deleted it during the fail-over) was simply overwritten or deleted. By
/// default (restore.replaced: keep, the source's own job) it is kept under .understudy-restore/SOURCE-TIME/ at the top
/// of the source's tree, which the restore never deletes and forward replication never sends, and the source's log
/// says so in one event; with replaced: discard nothing is kept.
/// </summary>
public sealed class RestoreKeepTests
{
    private const string KeepDir = ".understudy-restore";

    [Fact]
    public async Task Restore_ReplacedFileAndRemovedDirectory_KeptOnTheSource_NotReplicatedBack()
    {
        await using var pair = await StartPairAsync();
        await FailOverAndChangeOnTargetAsync(pair, "");
        await RestoreAndFailBackAsync(pair);

        var kept = Assert.Single(Directory.GetDirectories(Path.Combine(pair.SourceData, KeepDir)));
        Assert.StartsWith("src-", Path.GetFileName(kept), StringComparison.Ordinal);
        Assert.Equal("replicated before the fail-over", File.ReadAllText(Path.Combine(kept, "f.txt")));
        Assert.Equal("in a directory the target deleted", File.ReadAllText(Path.Combine(kept, "dir", "x.txt")));
        Assert.Equal("unchanged", File.ReadAllText(Path.Combine(pair.SourceData, "same.txt")));
        Assert.False(File.Exists(Path.Combine(kept, "same.txt")), "an entry the restore did not touch is not kept");

        var events = await pair.Source.EventsAsync("job1");
        var e = Assert.Single(events, e => e.Code() == EventCode.RestoreKept);
        Assert.Contains("restore kept 1 replaced and 1 removed entries under", e.Message(), StringComparison.Ordinal);
        Assert.Contains(KeepDir + "/" + Path.GetFileName(kept), e.Message(), StringComparison.Ordinal);

        // Forward replication after fail-back leaves the kept directory on the source only, and verify is clean.
        File.WriteAllText(Path.Combine(pair.SourceData, "after.txt"), "after fail-back");
        await Wait.UntilAsync(() => File.Exists(Path.Combine(pair.TargetData, "after.txt")), TimeSpan.FromSeconds(60), "forward replication");
        Assert.False(Directory.Exists(Path.Combine(pair.TargetData, KeepDir)), "the kept directory is not replicated");
        await Wait.UntilAsync(async () => (await pair.Source.CliAsync("verify", "job1")).ExitCode == 0, TimeSpan.FromSeconds(60), "verify to be clean");
        Assert.DoesNotContain((await pair.Source.EventsAsync("job1")).Codes(), c => c == EventCode.NotProtected);
    }

    [Fact]
    public async Task Restore_ReplacedDiscard_KeepsNothing()
    {
        await using var pair = await StartPairAsync();
        await FailOverAndChangeOnTargetAsync(pair, "\nrestore:\n  replaced: discard\n");
        await RestoreAndFailBackAsync(pair);

        Assert.False(Directory.Exists(Path.Combine(pair.SourceData, KeepDir)), "restore.replaced: discard keeps nothing");
        Assert.DoesNotContain((await pair.Source.EventsAsync("job1")).Codes(), c => c == EventCode.RestoreKept);
    }

    private static async Task FailOverAndChangeOnTargetAsync(AgentPair pair, string restoreYaml)
    {
        File.WriteAllText(Path.Combine(pair.SourceData, "f.txt"), "replicated before the fail-over");
        File.WriteAllText(Path.Combine(pair.SourceData, "same.txt"), "unchanged");
        Directory.CreateDirectory(Path.Combine(pair.SourceData, "dir"));
        File.WriteAllText(Path.Combine(pair.SourceData, "dir", "x.txt"), "in a directory the target deleted");
        await pair.ApplyAsync(pair.JobYaml(extra: pair.FailoverYaml() + restoreYaml));
        await pair.WaitMirroredAsync();
        await Wait.UntilAsync(async () => await pair.Target.FailoverStateAsync("job1") == "protecting", TimeSpan.FromSeconds(30), "monitoring");
        await pair.Target.ApproveFailoverAsync("job1");
        (await pair.Target.CliAsync("failover", "job1")).EnsureOk();
        await Wait.UntilAsync(async () => (await pair.Source.StatusAsync("job1"))["state"]?.GetValue<string>() == "failed-over (passive)",
            TimeSpan.FromSeconds(30), "the source to turn passive");
        // Clients on the target overwrite a file and delete a directory that were replicated before.
        File.WriteAllText(Path.Combine(pair.TargetData, "f.txt"), "the target's version");
        Directory.Delete(Path.Combine(pair.TargetData, "dir"), recursive: true);
    }

    private static async Task RestoreAndFailBackAsync(AgentPair pair)
    {
        (await pair.Target.CliAsync("restore", "job1", "--wait", "--timeout", "120")).EnsureOk();
        var fb = await pair.Target.CliAsync("failback", "job1");
        Assert.True(fb.ExitCode == 0, fb.Stdout + fb.Stderr);
        Assert.Equal(Listing(pair.TargetData), Listing(pair.SourceData));
        Assert.Equal("the target's version", File.ReadAllText(Path.Combine(pair.SourceData, "f.txt")));
    }

    /// <summary>Every entry with a file's content, but for the agents' own directories at the top.</summary>
    private static List<string> Listing(string root) =>
        [.. Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(root, p))
            .Where(r => r.Split('/')[0] is not (".understudy-tmp" or KeepDir))
            .Select(r => File.Exists(Path.Combine(root, r)) ? $"{r}: {File.ReadAllText(Path.Combine(root, r))}" : r + "/")
            .Order(StringComparer.Ordinal)];
}
