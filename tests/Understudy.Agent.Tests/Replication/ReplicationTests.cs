using System.Text.Json.Nodes;
using Understudy.Agent.Events;
using Understudy.Testing;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Xunit;

namespace Understudy.Agent.Tests.Replication;

/// <summary>Continuous replication end to end, between two real agent processes.</summary>
public sealed class ReplicationTests
{
    internal static async Task WaitIdleAsync(AgentPair pair, string job = "job1", int seconds = 90)
    {
        var r = await pair.Source.CliAsync("wait", job, "--until", "idle", "--timeout", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(r.ExitCode == 0, $"wait --until idle: exit {r.ExitCode} {r.Stderr}\n{(await pair.Source.CliAsync("status", job, "--json")).Stdout}\nTARGET STATUS: {(await pair.Target.CliAsync("status", "--json")).Stdout}\nSOURCE:\n{pair.Source.Log}\nTARGET:\n{pair.Target.Log}");
    }

    internal static async Task AssertVerifiedAsync(AgentPair pair, string job = "job1")
    {
        var v = await pair.Source.CliAsync("verify", job, "--checksum", "--json");
        Assert.True(v.ExitCode == 0, v.Stdout + v.Stderr);
    }

    internal static async Task<AgentPair> StartMirroredAsync(string? extra = null)
    {
        var pair = new AgentPair();
        try
        {
            await pair.StartAsync();
            File.WriteAllText(Path.Combine(pair.SourceData, "seed.txt"), "seed");
            await pair.ApplyAsync(pair.JobYaml(orphans: "delete", extra: extra));
            await pair.WaitMirroredAsync();
            await WaitIdleAsync(pair);
            return pair;
        }
        catch
        {
            await pair.DisposeAsync();
            throw;
        }
    }

    [Fact]
    public async Task Replication_EveryKindOfChange_ReachesTarget_AndVerifiesClean()
    {
        await using var pair = await StartMirroredAsync();
        string S(string p) => Path.Combine(pair.SourceData, p);
        string T(string p) => Path.Combine(pair.TargetData, p);

        Directory.CreateDirectory(S("dir/sub"));
        File.WriteAllText(S("dir/sub/new.txt"), "hello");
        File.WriteAllText(S("big.bin"), new string('x', 3 << 20));
        File.WriteAllText(S("gone.txt"), "bye");
        Directory.CreateDirectory(S("rmdir/inner"));
        File.WriteAllText(S("rmdir/inner/f"), "f");
        File.WriteAllText(S("to-rename.txt"), "rename me");
        await WaitIdleAsync(pair);

        File.AppendAllText(S("dir/sub/new.txt"), " world");                            // write
        using (var fs = new FileStream(S("big.bin"), FileMode.Open)) { fs.Position = 1 << 20; fs.WriteByte((byte)'Y'); } // block change
        File.Delete(S("gone.txt"));                                                    // delete
        Directory.Delete(S("rmdir"), recursive: true);                                 // rmdir
        File.Move(S("to-rename.txt"), S("dir/renamed.txt"));                           // rename
        File.SetUnixFileMode(S("dir/sub/new.txt"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead); // chmod
        File.CreateSymbolicLink(S("dir/link"), "sub/new.txt");                         // symlink
        File.WriteAllText(S("linked.txt"), "linked");
        await WaitIdleAsync(pair);
        Capture.TestLibc.Link(S("linked.txt"), S("dir/hardlink.txt"));                 // hard link
        using (var tree = FsTree.Open(pair.SourceData, create: false))
            tree.SetMetadata(RelPath.Parse("dir/renamed.txt"), 0x1A4, null, null, 1_700_000_000_000_000_000,
                [new Xattr("user.tag"u8.ToArray(), "v1"u8.ToArray())]);                // xattr + utimes
        File.WriteAllText(S("truncated.txt"), "0123456789");
        await WaitIdleAsync(pair);
        using (var fs = new FileStream(S("truncated.txt"), FileMode.Open)) fs.SetLength(3);   // truncate
        await WaitIdleAsync(pair);

        Assert.Equal("hello world", File.ReadAllText(T("dir/sub/new.txt")));
        Assert.False(File.Exists(T("gone.txt")));
        Assert.False(Directory.Exists(T("rmdir")));
        Assert.Equal("rename me", File.ReadAllText(T("dir/renamed.txt")));
        Assert.Equal("sub/new.txt", new FileInfo(T("dir/link")).LinkTarget);
        Assert.Equal("012", File.ReadAllText(T("truncated.txt")));
        using (var t = FsTree.Open(pair.TargetData, create: false))
        {
            Assert.Equal(t.Lstat(RelPath.Parse("linked.txt"))!.Value.Inode, t.Lstat(RelPath.Parse("dir/hardlink.txt"))!.Value.Inode);
            Assert.Contains(t.ReadXattrs(RelPath.Parse("dir/renamed.txt")), x => x.Name.AsSpan().SequenceEqual("user.tag"u8));
        }
        await AssertVerifiedAsync(pair);

        var st = await pair.Source.StatusAsync("job1");
        var job = st;
        Assert.Equal("replicating", job["state"]!.GetValue<string>());
        Assert.Contains(job["replication"]!["captureMethod"]!.GetValue<string>(), new[] { "fanotify", "inotify" });
        Assert.Equal(0, job["replication"]!["opsPending"]!.GetValue<long>());
    }

    [Fact]
    public async Task Rename_OfLargeFile_IsNotTransferredAgain()
    {
        await using var pair = await StartMirroredAsync();
        var big = Path.Combine(pair.SourceData, "big.dat");
        var data = new byte[8 << 20];
        Random.Shared.NextBytes(data);
        File.WriteAllBytes(big, data);
        await WaitIdleAsync(pair);
        long before = await TargetBytesReceivedAsync(pair);

        File.Move(big, Path.Combine(pair.SourceData, "moved.dat"));
        await WaitIdleAsync(pair);
        long after = await TargetBytesReceivedAsync(pair);

        Assert.True(after - before < 1 << 20, $"a rename moved {after - before} bytes");
        Assert.Equal(data, File.ReadAllBytes(Path.Combine(pair.TargetData, "moved.dat")));
        Assert.False(File.Exists(Path.Combine(pair.TargetData, "big.dat")));
        await AssertVerifiedAsync(pair);
    }

    [Fact]
    public async Task ChangedBlocksOfLargeFile_OnlyThoseAreSent()
    {
        await using var pair = await StartMirroredAsync();
        var big = Path.Combine(pair.SourceData, "disk.img");
        var data = new byte[16 << 20];
        Random.Shared.NextBytes(data);
        File.WriteAllBytes(big, data);
        await WaitIdleAsync(pair);
        long before = await TargetBytesReceivedAsync(pair);

        // Three scattered 4 KiB writes and a 4 KiB append, in one open of the file.
        using (var fs = new FileStream(big, FileMode.Open))
        {
            foreach (long at in new long[] { 1 << 20, 7 << 20, 13 << 20 })
            {
                var patch = new byte[4096];
                Random.Shared.NextBytes(patch);
                fs.Position = at;
                fs.Write(patch);
                patch.CopyTo(data, at);
            }
            fs.Seek(0, SeekOrigin.End);
            fs.Write(new byte[4096]);
        }
        await WaitIdleAsync(pair);
        long sent = await TargetBytesReceivedAsync(pair) - before;

        Assert.True(sent < 512 << 10, $"16 KiB changed in a 16 MiB file, {sent} bytes sent");
        Assert.Equal(data.Concat(new byte[4096]), File.ReadAllBytes(Path.Combine(pair.TargetData, "disk.img")));
        await AssertVerifiedAsync(pair);
    }

    /// <summary>What the source has sent over its link, from the job's replication counters.</summary>
    private static async Task<long> TargetBytesReceivedAsync(AgentPair pair)
    {
        var st = await pair.Source.StatusAsync("job1");
        return st["replication"]!["bytesSent"]!.GetValue<long>();
    }

    [Fact]
    public async Task TargetKilledMidStream_Restarted_Converges()
    {
        await using var pair = await StartMirroredAsync();
        for (int i = 0; i < 300; i++)
            File.WriteAllText(Path.Combine(pair.SourceData, $"f{i:D4}.txt"), new string('a', 20_000 + i));
        pair.Target.Kill();
        for (int i = 0; i < 300; i += 3)
            File.Delete(Path.Combine(pair.SourceData, $"f{i:D4}.txt"));
        File.Move(Path.Combine(pair.SourceData, "f0001.txt"), Path.Combine(pair.SourceData, "renamed.txt"));
        await Wait.UntilAsync(async () => (await pair.Source.StatusAsync("job1"))["state"]!.GetValue<string>() == "disconnected",
            TimeSpan.FromSeconds(60), "disconnected state");
        await pair.Target.StartAsync();
        await WaitIdleAsync(pair);
        Assert.True(File.Exists(Path.Combine(pair.TargetData, "renamed.txt")));
        await AssertVerifiedAsync(pair);
    }

    [Fact]
    public async Task SourceKilled_ChangesWhileDown_FoundByStartupScan()
    {
        await using var pair = await StartMirroredAsync();
        File.WriteAllText(Path.Combine(pair.SourceData, "before.txt"), "before");
        await WaitIdleAsync(pair);
        pair.Source.Kill();
        File.WriteAllText(Path.Combine(pair.SourceData, "while-down.txt"), "made while the agent was down");
        File.Delete(Path.Combine(pair.SourceData, "before.txt"));
        await pair.Source.StartAsync();
        await WaitIdleAsync(pair);
        Assert.Equal("made while the agent was down", File.ReadAllText(Path.Combine(pair.TargetData, "while-down.txt")));
        Assert.False(File.Exists(Path.Combine(pair.TargetData, "before.txt")));
        Assert.Contains(await pair.Source.EventsAsync("job1"), e => e.Code() == EventCode.MirrorStarted && e.Message().Contains("startup difference scan", StringComparison.Ordinal));
        await AssertVerifiedAsync(pair);
    }

    [Fact]
    public async Task QueueLimitExceeded_ReportsRemirrorRequired_ThenConverges()
    {
        await using var pair = await StartMirroredAsync("replication:\n  queue_limit: 1MiB");
        await pair.Target.StopAsync();
        var longName = new string('q', 200);
        for (int i = 0; i < 6000; i++)
            File.WriteAllText(Path.Combine(pair.SourceData, $"{longName}{i:D5}"), "x");
        await Wait.UntilAsync(async () => (await pair.Source.StatusAsync("job1"))["state"]!.GetValue<string>() == "re-mirror-required",
            TimeSpan.FromSeconds(60), "re-mirror-required state");
        var job = (await pair.Source.StatusAsync("job1"));
        Assert.Contains("queue limit", job["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        await pair.Target.StartAsync();
        await WaitIdleAsync(pair, seconds: 120);
        Assert.Equal(6001, Directory.GetFiles(pair.TargetData).Length);
        await AssertVerifiedAsync(pair);
    }

    [Fact]
    public async Task PauseResume_HoldsChangesThenDeliversThem()
    {
        await using var pair = await StartMirroredAsync();
        (await pair.Source.CliAsync("pause", "job1")).EnsureOk();
        File.WriteAllText(Path.Combine(pair.SourceData, "held.txt"), "held");
        await Wait.UntilAsync(async () => (await pair.Source.StatusAsync("job1"))["replication"]!["opsPending"]!.GetValue<long>() > 0,
            TimeSpan.FromSeconds(30), "pending ops while paused");
        var job = (await pair.Source.StatusAsync("job1"));
        Assert.Equal("paused", job["state"]!.GetValue<string>());
        Assert.False(File.Exists(Path.Combine(pair.TargetData, "held.txt")));
        var timeout = await pair.Source.CliAsync("wait", "job1", "--until", "idle", "--timeout", "1");
        Assert.Equal(3, timeout.ExitCode);
        (await pair.Source.CliAsync("job", "set", "job1", "--bandwidth", "50MiB", "--compression", "zstd")).EnsureOk();
        (await pair.Source.CliAsync("resume", "job1")).EnsureOk();
        await WaitIdleAsync(pair);
        Assert.Equal("held", File.ReadAllText(Path.Combine(pair.TargetData, "held.txt")));
    }
}
