using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Understudy.Agent.Events;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Mirror;

public sealed class UnreadableSourceTests
{
    /// <summary>
    /// Entries the mirror cannot copy as files (a FIFO would block a reader forever, a socket cannot
    /// be opened) become events and are skipped; everything else is mirrored and the job completes.
    /// (Unreadable permissions cannot be staged as root, which reads anything.)
    /// </summary>
    [Fact]
    public async Task Mirror_SourceEntriesThatCannotBeRead_AreEventsAndSkipped_MirrorGoesOn()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        File.WriteAllText(Path.Combine(pair.SourceData, "a.txt"), "a");
        Directory.CreateDirectory(Path.Combine(pair.SourceData, "b"));
        File.WriteAllText(Path.Combine(pair.SourceData, "b/c.txt"), "c");
        File.WriteAllText(Path.Combine(pair.SourceData, "z-after.txt"), "after the odd entries");
        using (var p = Process.Start("mkfifo", [Path.Combine(pair.SourceData, "b/pipe")]))
        {
            await p.WaitForExitAsync();
            Assert.Equal(0, p.ExitCode);
        }
        // Kept open for the whole test: .NET unlinks a bound socket's file when the socket is disposed.
        using var sock = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        sock.Bind(new UnixDomainSocketEndPoint(Path.Combine(pair.SourceData, "sock")));

        await pair.ApplyAsync(pair.JobYaml());
        await pair.WaitMirroredAsync();

        Assert.Equal("a", File.ReadAllText(Path.Combine(pair.TargetData, "a.txt")));
        Assert.Equal("c", File.ReadAllText(Path.Combine(pair.TargetData, "b/c.txt")));
        Assert.Equal("after the odd entries", File.ReadAllText(Path.Combine(pair.TargetData, "z-after.txt")));
        Assert.False(Path.Exists(Path.Combine(pair.TargetData, "b/pipe")));
        Assert.False(Path.Exists(Path.Combine(pair.TargetData, "sock")));

        var job = await pair.Source.StatusAsync("job1"); // `status NAME --json`: that job's object
        Assert.Contains(job["state"]!.GetValue<string>(), new[] { "in-sync", "replicating" }); // mirrored; replication is on by default
        Assert.True(job["mirror"]!["skipped"]!.GetValue<long>() >= 2, job.ToJsonString());

        var events = await pair.Source.EventsAsync("job1");
        // Which paths were skipped is the point: the message names them.
        Assert.Contains(events, e => e.Code() == EventCode.MirrorSkipped && e["severity"]!.GetValue<string>() == "warning" && e.Message().StartsWith("skipped b/pipe", StringComparison.Ordinal));
        Assert.Contains(events, e => e.Code() == EventCode.MirrorSkipped && e.Message().StartsWith("skipped sock", StringComparison.Ordinal));
        Assert.Contains(EventCode.MirrorCompleted, events.Codes());
    }

    /// <summary>
    /// A file listed in the plan but gone when its turn comes: skipped with an event, the rest mirrored.
    /// The source agent is frozen (SIGSTOP) the moment the target starts writing the big files planned
    /// before it, so deleting it cannot race the sender.
    /// </summary>
    [Fact]
    public async Task Mirror_SourceFileVanishesAfterTheScan_IsAnEventAndSkipped_MirrorGoesOn()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        var big = new byte[48 << 20];
        new Random(3).NextBytes(big);
        File.WriteAllBytes(Path.Combine(pair.SourceData, "a-big-0.bin"), big);
        File.WriteAllBytes(Path.Combine(pair.SourceData, "a-big-1.bin"), big);
        var vanishing = Path.Combine(pair.SourceData, "z-vanish.txt");
        File.WriteAllText(vanishing, "gone before it is sent");
        File.WriteAllText(Path.Combine(pair.SourceData, "zz-last.txt"), "still sent");
        Directory.CreateDirectory(pair.TargetData);
        int sourcePid = PidOf(pair.Source.DataDir);

        int frozen = 0;
        using var watcher = new FileSystemWatcher(pair.TargetData) { IncludeSubdirectories = true }; // temporaries are in the work directory
        watcher.Created += (_, e) =>
        {
            if (Path.GetFileName(e.Name)?.StartsWith(".ustd~", StringComparison.Ordinal) == true && Interlocked.Exchange(ref frozen, 1) == 0)
                _ = Native.Kill(sourcePid, 19); // SIGSTOP
        };
        watcher.EnableRaisingEvents = true;
        try
        {
            await pair.ApplyAsync(pair.JobYaml(mode: "full"));
            await Wait.UntilAsync(() => Volatile.Read(ref frozen) == 1, TimeSpan.FromSeconds(120), "the target to start writing");
            Assert.False(File.Exists(Path.Combine(pair.TargetData, "z-vanish.txt")), "the source sent the file before it could be removed");
            File.Delete(vanishing);
        }
        finally
        {
            _ = Native.Kill(sourcePid, 18); // SIGCONT
        }
        await pair.WaitMirroredAsync();

        Assert.False(Path.Exists(Path.Combine(pair.TargetData, "z-vanish.txt")));
        Assert.Equal("still sent", File.ReadAllText(Path.Combine(pair.TargetData, "zz-last.txt")));
        Assert.Equal(big.Length, new FileInfo(Path.Combine(pair.TargetData, "a-big-1.bin")).Length);
        var events = await pair.Source.EventsAsync("job1");
        Assert.Contains(events, e => e.Code() == EventCode.MirrorSkipped && e.Message().StartsWith("skipped z-vanish.txt", StringComparison.Ordinal));
        Assert.Equal(0, (await pair.Source.CliAsync("verify", "job1", "--checksum")).ExitCode);
    }

    /// <summary>The agent process serving <paramref name="dataDir"/> (AgentProcess keeps its Process private).</summary>
    private static int PidOf(string dataDir)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid))
                continue;
            try
            {
                var args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                if (args.Contains("agent") && args.Contains(dataDir))
                    return pid;
            }
            catch (IOException)
            {
            }
        }
        throw new InvalidOperationException($"no agent process for {dataDir}");
    }
}
