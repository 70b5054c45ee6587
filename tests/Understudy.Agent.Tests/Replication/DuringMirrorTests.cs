using Understudy.Agent.Events;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Replication;

/// <summary>Files written while a long first mirror runs reach the target before it ends (and the end state is still exact).</summary>
public sealed class DuringMirrorTests
{
    [Fact]
    public async Task FileWrittenDuringTheMirror_ArrivesBeforeItEnds()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        string S(string p) => Path.Combine(pair.SourceData, p);
        string T(string p) => Path.Combine(pair.TargetData, p);
        // 12 MiB of incompressible files at 1 MiB/s: the mirror transfers for seconds on any machine.
        var block = new byte[256 * 1024];
        for (int i = 0; i < 48; i++)
        {
            Directory.CreateDirectory(S($"a{i:D2}"));
            Random.Shared.NextBytes(block);
            File.WriteAllBytes(S($"a{i:D2}/f.bin"), block);
        }
        Directory.CreateDirectory(S("zz/late")); // last in the walk: created on the target near the mirror's end
        await pair.ApplyAsync(pair.JobYaml(orphans: "delete", extra: "replication:\n  bandwidth: 1MiB"));
        await Wait.UntilAsync(async () => (await pair.Source.StatusAsync("job1"))["mirror"]?["phase"]?.GetValue<string>() == "transferring",
            TimeSpan.FromSeconds(60), "the mirror to transfer");

        File.WriteAllText(S("zz/late/new.txt"), "written during the mirror");
        await Wait.UntilAsync(() => File.Exists(T("zz/late/new.txt")), TimeSpan.FromSeconds(60), "the new file on the target");
        var st = await pair.Source.StatusAsync("job1");
        Assert.Equal("mirroring", st["state"]!.GetValue<string>());
        Assert.Equal("written during the mirror", File.ReadAllText(T("zz/late/new.txt")));

        File.AppendAllText(S("zz/late/new.txt"), ", then changed");
        await pair.WaitMirroredAsync();
        await ReplicationTests.WaitIdleAsync(pair);
        Assert.Equal("written during the mirror, then changed", File.ReadAllText(T("zz/late/new.txt")));
        await ReplicationTests.AssertVerifiedAsync(pair);
        Assert.Contains(await pair.Source.EventsAsync("job1"), e => e.Code() == EventCode.MirrorCompleted && e.Data()?["sentAhead"]?.GetValue<long>() > 0);
    }

    /// <summary>
    /// The replication benchmark's tree (bench/replication-vs-lsyncd.sh, "tree"): a file written into the last directory
    /// of a large tree of empty directories just as the job starts. When it is there before capture is (the CLI and the
    /// job's start can take longer than the benchmark's 0.2 s), only the walk sees it, and in walk order it came after
    /// every directory: it arrived at the mirror's end. Files go ahead of directories that hold none.
    /// </summary>
    [Fact]
    public async Task FileInTheLastDirectory_ThereBeforeTheJob_ArrivesBeforeTheEmptyDirectories()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        string S(string p) => Path.Combine(pair.SourceData, p);
        string T(string p) => Path.Combine(pair.TargetData, p);
        // 5,000 empty directories (some 80 bytes of steps each) at 64 KiB/s: the mirror transfers for seconds.
        for (int i = 0; i < 5000; i++)
            Directory.CreateDirectory(S($"d{i:D4}"));
        Directory.CreateDirectory(S("zz/last")); // last in the walk
        File.WriteAllText(S("zz/last/marker"), "there before the job");
        await pair.ApplyAsync(pair.JobYaml(orphans: "delete", extra: "replication:\n  bandwidth: 64KiB"));

        await Wait.UntilAsync(() => File.Exists(T("zz/last/marker")), TimeSpan.FromSeconds(120), "the marker on the target");
        // Sent ahead: most of the empty directories, which the walk saw before it, are not on the target yet.
        Assert.False(Directory.Exists(T("d4999")), "the marker arrived only after every directory walked before it");
        Assert.Equal("there before the job", File.ReadAllText(T("zz/last/marker")));

        await pair.WaitMirroredAsync();
        await ReplicationTests.WaitIdleAsync(pair);
        Assert.True(Directory.Exists(T("d4999")));
        await ReplicationTests.AssertVerifiedAsync(pair);
    }
}
