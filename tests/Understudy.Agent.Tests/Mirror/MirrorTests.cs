using Understudy.Testing;
using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Xunit;

namespace Understudy.Agent.Tests.Mirror;

public sealed class MirrorTests
{
    [Theory]
    [InlineData("full")]
    [InlineData("different")]
    [InlineData("checksum")]
    public async Task Mirror_HostileTree_PreservesEveryCase_AndVerifiesClean(string mode)
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        HostileTree.Build(pair.SourceData);
        await pair.ApplyAsync(pair.JobYaml(mode: mode));
        await pair.WaitMirroredAsync();

        var verify = await pair.Source.CliAsync("verify", "job1", "--checksum");
        Assert.True(verify.ExitCode == 0, verify.Stdout + verify.Stderr);

        using var t = FsTree.Open(pair.TargetData, create: false);
        Assert.NotNull(t.Lstat(RelPath.Parse(HostileTree.InvalidUtf8Name)));
        Assert.NotNull(t.Lstat(RelPath.Parse(new string('n', 255))));
        Assert.Equal(EntryKind.Directory, t.Lstat(RelPath.Parse("empty dir"))!.Value.Kind);
        var link = t.Lstat(RelPath.Parse("dangling"))!.Value;
        Assert.Equal(EntryKind.Symlink, link.Kind);
        Assert.Equal("/nonexistent/elsewhere", System.Text.Encoding.UTF8.GetString(t.ReadLink(RelPath.Parse("dangling"))));
        var sparse = t.Lstat(RelPath.Parse("sparse.img"))!.Value;
        Assert.Equal(8 << 20, sparse.Size);
        Assert.True(sparse.AllocatedBytes < sparse.Size / 2, $"sparse file allocated {sparse.AllocatedBytes} bytes");
        Assert.Contains(t.ReadXattrs(RelPath.Parse("sparse.img")), x => System.Text.Encoding.ASCII.GetString(x.Name) == "user.kind");
        var a = t.Lstat(RelPath.Parse("plain.txt"))!.Value;
        var b = t.Lstat(RelPath.Parse("hardlink-to-plain"))!.Value;
        Assert.Equal(a.Inode, b.Inode);
        Assert.Equal(1_600_000_000_123_456_789, a.MtimeNs);
        Assert.Equal(0x1C0u, t.Lstat(RelPath.Parse("deep/a/b/c"))!.Value.Mode);
    }

    [Theory]
    [InlineData("different", false)] // size and mtime pick the file, then a block delta: rsync's default between hosts
    [InlineData("checksum", true)] // content compared; bytes inserted in the middle shift the rest
    public async Task ChangedBigFile_IsSentAsADelta_OnlyTheChangedBlocks(string mode, bool insert)
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        var big = new byte[16 << 20];
        new Random(5).NextBytes(big);
        var path = Path.Combine(pair.SourceData, "big.bin");
        await File.WriteAllBytesAsync(path, big);
        await File.WriteAllTextAsync(Path.Combine(pair.SourceData, "small.txt"), "unchanged");
        await pair.ApplyAsync(pair.JobYaml(mode: mode, extra: "replication:\n  enabled: false")); // only the mirror sends the change
        await pair.WaitMirroredAsync();

        var changed = big.ToList();
        foreach (int at in new[] { 1 << 20, 7 << 20, 13 << 20 })
        {
            for (int i = 0; i < 100; i++)
                changed[at + i] ^= 0xFF;
        }
        if (insert)
            changed.InsertRange(9 << 20, Enumerable.Repeat((byte)'i', 1000));
        await File.WriteAllBytesAsync(path, changed.ToArray());
        (await pair.Source.CliAsync("mirror", "job1", "--mode", mode, "--wait")).EnsureOk();

        Assert.Equal(changed, await File.ReadAllBytesAsync(Path.Combine(pair.TargetData, "big.bin")));
        long sent = (await pair.Source.StatusAsync("job1"))["mirror"]!["bytesSent"]!.GetValue<long>();
        Assert.True(sent < 2 << 20, $"{sent} bytes sent for a 16 MiB file changed in three places ({mode}, insertion {insert})");
    }

    [Fact]
    public async Task Mirror_OrphansDelete_RemovesOnlyInsideTargetPath()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        File.WriteAllText(Path.Combine(pair.SourceData, "keep.txt"), "k");
        Directory.CreateDirectory(Path.Combine(pair.TargetData, "old/sub"));
        File.WriteAllText(Path.Combine(pair.TargetData, "old/sub/orphan.txt"), "o");
        var outside = pair.Dir.Sub("outside.txt");
        File.WriteAllText(outside, "must survive");
        await pair.ApplyAsync(pair.JobYaml(orphans: "delete"));
        await pair.WaitMirroredAsync();
        Assert.False(Directory.Exists(Path.Combine(pair.TargetData, "old")));
        Assert.True(File.Exists(Path.Combine(pair.TargetData, "keep.txt")));
        Assert.True(File.Exists(outside));
        Assert.Equal(0, (await pair.Source.CliAsync("verify", "job1", "--checksum")).ExitCode);
    }

    [Fact]
    public async Task ManyToOne_TwoSourcesIntoOneTarget_OverlapRefused()
    {
        await using var pair = new AgentPair();
        await using var second = new AgentProcess(pair.Dir.Sub("second-agent"), "second");
        await pair.StartAsync();
        await second.StartAsync();
        await second.TrustAsync(pair.Target);
        await pair.Target.TrustAsync(second);
        File.WriteAllText(Path.Combine(pair.SourceData, "a.txt"), "from first");
        await pair.ApplyAsync(pair.JobYaml(targetPath: pair.Dir.Sub("replica/first")));
        await pair.WaitMirroredAsync();

        var data2 = pair.Dir.Sub("data2");
        Directory.CreateDirectory(data2);
        File.WriteAllText(Path.Combine(data2, "b.txt"), "from second");
        var yaml2 = pair.JobYaml(name: "job2", targetPath: pair.Dir.Sub("replica/second")).Replace(pair.SourceData, data2, StringComparison.Ordinal);
        var f = pair.Dir.Sub("job2.yaml");
        await File.WriteAllTextAsync(f, yaml2);
        (await second.CliAsync("job", "apply", f)).EnsureOk();
        (await second.CliAsync("wait", "job2", "--until", "mirrored", "--timeout", "60")).EnsureOk();
        Assert.Equal("from second", File.ReadAllText(pair.Dir.Sub("replica/second/b.txt")));
        Assert.Equal("from first", File.ReadAllText(pair.Dir.Sub("replica/first/a.txt")));

        var yaml3 = pair.JobYaml(name: "job3", targetPath: pair.Dir.Sub("replica/first/nested")).Replace(pair.SourceData, data2, StringComparison.Ordinal);
        await File.WriteAllTextAsync(f, yaml3);
        (await second.CliAsync("job", "apply", f)).EnsureOk();
        var w = await second.CliAsync("wait", "job3", "--until", "mirrored", "--timeout", "60");
        Assert.Equal(1, w.ExitCode);
        Assert.Contains("overlaps", w.Stderr);
    }
}
