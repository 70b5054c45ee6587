using Understudy.Agent.Events;
using Understudy.Agent.Tests.Replication.Convergence;
using Understudy.Agent.Tests.Replication.Faults.Support;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Replication;

/// <summary>
/// The source agent's own data directory failing under its replication queue (issue 20), through the fault-injecting
/// file system (UNDERSTUDY_FAULT_FS, a control file this test rewrites while the real source agent runs): EIO on the
/// queue's writes, a failed fsync of a segment or of the ack file; and a queue segment damaged while the agent runs.
/// The job must say so truthfully (state error with the reason, an event; `wait` fails at once with exit 1), lose
/// nothing, and heal by itself once the disk works again: every file written during the fault arrives, `verify
/// --checksum` is clean, and the trees compare equal by an independent walk.
/// </summary>
public sealed class SourceQueueFaultTests
{
    private const int Written = 60;

    [Fact]
    public async Task Replication_SourceQueueWritesFailWithEio_JobInErrorWithReason_WaitFailsFast_HealsWhenCleared()
    {
        await using var f = await FaultedPairAsync();
        await f.FaultAsync("write EIO");
        WriteFiles(f.Pair, "written-while-the-queue-failed");

        await f.AssertFaultReportedAsync("Input/output error");
        await f.ClearAndConvergeAsync();
    }

    [Fact]
    public async Task Replication_SourceQueueFsyncFails_JobInErrorWithReason_NothingLost_HealsWhenCleared()
    {
        await using var f = await FaultedPairAsync();
        await f.FaultAsync("fsync EIO");
        WriteFiles(f.Pair, "written-while-queue-fsync-failed");

        await f.AssertFaultReportedAsync("fsync");
        await f.ClearAndConvergeAsync();
    }

    [Fact]
    public async Task Replication_QueueSegmentDamagedWhileRunning_DetectedReported_CaughtUpByMirror()
    {
        await using var f = await FaultedPairAsync();
        (await f.Pair.Source.CliAsync("pause", "job1")).EnsureOk();
        long lastBefore = (await f.Pair.Source.StatusAsync("job1"))["replication"]!["lastSeq"]!.GetValue<long>();
        WriteFiles(f.Pair, "queued-then-damaged");
        // Last, a change only the ctime shows (same size, the old mtime put back to the nanosecond): its records are
        // the damaged ones, so only the catch-up can bring it, and only if it takes entries changed since then as changed.
        var a = Path.Combine(f.Pair.SourceData, "a.txt");
        var st = SnapshotLibc.Lstat(a);
        File.WriteAllText(a, "BEFORE");
        ChurnLibc.SetTimes(a, st.MtimeSec, st.MtimeNsec);
        await Wait.UntilAsync(async () => (await f.Pair.Source.StatusAsync("job1"))["replication"]!["lastSeq"]!.GetValue<long>() >= lastBefore + Written + 3,
            TimeSpan.FromSeconds(60), "the changes to be queued while paused");
        // Bit rot in a.txt's first queued record (its CRC no longer matches), in the page cache the agent reads.
        var segment = Directory.GetFiles(Path.Combine(f.Pair.Source.DataDir, "queues", "job1"), "*.seg").Max()!;
        DamageFirstRecordNaming(segment, "a.txt");
        (await f.Pair.Source.CliAsync("resume", "job1")).EnsureOk();

        await f.ConvergeAsync();
        var codes = (await f.Pair.Source.EventsAsync("job1")).Codes().ToList();
        Assert.Contains(EventCode.QueueDamagedWhileRunning, codes);
        Assert.DoesNotContain(EventCode.JobFailed, codes);
        Assert.Equal("BEFORE", File.ReadAllText(Path.Combine(f.Pair.TargetData, "a.txt")));
        // The damaged segment is gone: the queue holds nothing that cannot be read.
        File.WriteAllText(Path.Combine(f.Pair.SourceData, "after.txt"), "after");
        (await f.Pair.Source.CliAsync("wait", "job1", "--until", "idle", "--timeout", "60")).EnsureOk();
        Assert.Equal("after", File.ReadAllText(Path.Combine(f.Pair.TargetData, "after.txt")));
    }

    [Fact]
    public async Task Replication_QueueSegmentDamagedWhileStopped_DetectedAtStart_CaughtUpByMirror()
    {
        await using var f = await FaultedPairAsync();
        var queue = Path.Combine(f.Pair.Source.DataDir, "queues", "job1");
        var segment = Directory.GetFiles(queue, "*.seg").Max()!;
        (await f.Pair.Source.CliAsync("pause", "job1")).EnsureOk();
        long firstPending = new FileInfo(segment).Length; // idle before the pause: all before it is acknowledged
        long lastBefore = (await f.Pair.Source.StatusAsync("job1"))["replication"]!["lastSeq"]!.GetValue<long>();
        WriteFiles(f.Pair, "queued-then-damaged-at-rest");
        // A change only the ctime shows (same size, the old mtime put back): a difference mirror finds it only if told
        // to take entries changed since then as changed.
        var a = Path.Combine(f.Pair.SourceData, "a.txt");
        var st = SnapshotLibc.Lstat(a);
        File.WriteAllText(a, "BEFORE");
        ChurnLibc.SetTimes(a, st.MtimeSec, st.MtimeNsec); // to the nanosecond (.NET's setter keeps 100 ns ticks)
        long changedNs = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;
        await Wait.UntilAsync(async () => (await f.Pair.Source.StatusAsync("job1"))["replication"]!["lastSeq"]!.GetValue<long>() >= lastBefore + Written + 3,
            TimeSpan.FromSeconds(60), "the changes to be queued while paused");
        // Capture moves on (the capture point passes the change by more than its margin): only the queue knows of it.
        int n = 0;
        await Wait.UntilAsync(() =>
        {
            File.WriteAllText(Path.Combine(f.Pair.SourceData, "later.txt"), $"later {n++}");
            return File.Exists(Path.Combine(queue, "captured-through"))
                && long.Parse(File.ReadAllText(Path.Combine(queue, "captured-through")).Trim(), System.Globalization.CultureInfo.InvariantCulture) > changedNs + 7_000_000_000L;
        }, TimeSpan.FromSeconds(60), "the capture point to pass the change");
        await f.Pair.Source.StopAsync();
        // Bit rot in the first queued record, while the agent is down: found when the queue is opened, and every record
        // from there on is lost with it.
        using (var fs = new FileStream(segment, FileMode.Open, FileAccess.ReadWrite))
        {
            fs.Seek(firstPending + 4, SeekOrigin.Begin); // its CRC
            int b = fs.ReadByte();
            fs.Seek(firstPending + 4, SeekOrigin.Begin);
            fs.WriteByte((byte)(b ^ 0x5a));
        }
        await f.Pair.Source.StartAsync();
        (await f.Pair.Source.CliAsync("resume", "job1")).EnsureOk();

        await f.ConvergeAsync();
        var events = await f.Pair.Source.EventsAsync("job1");
        Assert.True(events.Codes().Contains(EventCode.QueueRecovered), events.Describe());
        Assert.DoesNotContain(EventCode.JobFailed, events.Codes());
        Assert.Equal("BEFORE", File.ReadAllText(Path.Combine(f.Pair.TargetData, "a.txt")));
    }

    /// <summary>Flips a bit of the CRC of the first record whose payload holds <paramref name="name"/> (the segment
    /// format: a 16-byte header, then records of u32 length, u32 CRC, u64 seq, i64 time, payload).</summary>
    private static void DamageFirstRecordNaming(string segment, string name)
    {
        var needle = System.Text.Encoding.UTF8.GetBytes(name);
        using var fs = new FileStream(segment, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        var bytes = new byte[fs.Length];
        fs.ReadExactly(bytes);
        for (int at = 16; at + 24 <= bytes.Length;)
        {
            int length = BitConverter.ToInt32(bytes, at);
            if (bytes.AsSpan(at + 24, length).IndexOf(needle) >= 0)
            {
                fs.Seek(at + 4, SeekOrigin.Begin);
                fs.WriteByte((byte)(bytes[at + 4] ^ 0x5a));
                return;
            }
            at += 24 + length;
        }
        Assert.Fail($"no queued record names {name}");
    }

    private static void WriteFiles(AgentPair pair, string name)
    {
        var dir = Path.Combine(pair.SourceData, "sub");
        Directory.CreateDirectory(dir);
        for (int i = 0; i < Written; i++)
            File.WriteAllText(Path.Combine(dir, $"{name}-{i:D3}.txt"), $"{name} {i}");
        File.WriteAllBytes(Path.Combine(pair.SourceData, $"{name}.bin"), [.. Enumerable.Range(0, 1 << 20).Select(i => (byte)(i * 7))]);
        // Changed in place too: a rewrite the target already has a version of.
        File.WriteAllText(Path.Combine(pair.SourceData, "b.txt"), $"rewritten: {name}");
    }

    private static async Task<FaultedPair> FaultedPairAsync()
    {
        var faults = await FaultFsPair.StartAsync(onSource: true,
            pair => Path.Combine(AgentProcess.TestRoot, Path.GetFileName(pair.Dir.Path), "source-agent", "queues"));
        try
        {
            Assert.Equal("replicated", File.ReadAllText(Path.Combine(faults.Pair.TargetData, "b.txt")));
            return new FaultedPair(faults);
        }
        catch
        {
            await faults.DisposeAsync();
            throw;
        }
    }

    /// <summary>The fault is set below the source agent's queues as its descriptors show them.</summary>
    private sealed class FaultedPair(FaultFsPair faults) : IAsyncDisposable
    {
        public AgentPair Pair => faults.Pair;

        public Task FaultAsync(string opsAndErrno) => faults.FaultAsync(opsAndErrno);

        public async Task<string> DescribeAsync() =>
            $"status {(await Pair.Source.StatusAsync("job1")).ToJsonString()}; source events:\n{(await Pair.Source.EventsAsync("job1")).Describe()}\nsource log:\n{Pair.Source.Log}";

        /// <summary>`wait` fails at once (well before its time-out) with the reason; status says error with it; the events say it.</summary>
        public async Task AssertFaultReportedAsync(string cause)
        {
            var wait = await Pair.Source.CliAsync("wait", "job1", "--until", "idle", "--timeout", "90");
            Assert.True(wait.ExitCode == 1, $"wait exit {wait.ExitCode}: {wait.Stdout}{wait.Stderr}; {await DescribeAsync()}");
            Assert.Contains(cause, wait.Stderr, StringComparison.Ordinal);
            Assert.Contains("source data directory", wait.Stderr, StringComparison.Ordinal);
            var status = await Pair.Source.StatusAsync("job1");
            Assert.Equal("error", status["state"]?.GetValue<string>());
            Assert.Contains(cause, status["reason"]!.GetValue<string>(), StringComparison.Ordinal);
            var codes = (await Pair.Source.EventsAsync("job1")).Codes().ToList();
            Assert.Contains(EventCode.SourceStorageFault, codes);
            Assert.Contains(EventCode.QueueRecordsDropped, codes);
            Assert.DoesNotContain(EventCode.LinkLost, codes);
            Assert.DoesNotContain(EventCode.JobFailed, codes);
        }

        /// <summary>Clears the fault; the job heals by itself and the replica equals the source.</summary>
        public async Task ClearAndConvergeAsync()
        {
            await faults.ClearAsync();
            await ConvergeAsync();
            var codes = (await Pair.Source.EventsAsync("job1")).Codes().ToList();
            Assert.Contains(EventCode.SourceStorageHealed, codes);
            // Healed for good: a change after the fault travels through the queue as usual.
            File.WriteAllText(Path.Combine(Pair.SourceData, "after.txt"), "after");
            (await Pair.Source.CliAsync("wait", "job1", "--until", "idle", "--timeout", "60")).EnsureOk();
            Assert.Equal("after", File.ReadAllText(Path.Combine(Pair.TargetData, "after.txt")));
        }

        /// <summary>The job becomes idle by itself; then `verify --checksum` is clean and an independent walk finds the trees equal.</summary>
        public async Task ConvergeAsync()
        {
            await faults.WaitIdleAsync("the job to heal by itself", DescribeAsync);
            var verify = await Pair.Source.CliAsync("verify", "job1", "--checksum");
            Assert.True(verify.ExitCode == 0, $"verify --checksum exit {verify.ExitCode}: {verify.Stdout}{verify.Stderr}");
            var diffs = TreeSnapshot.Compare(TreeSnapshot.Take(Pair.SourceData), TreeSnapshot.Take(Pair.TargetData, r => r == ".understudy-tmp"));
            Assert.True(diffs.Count == 0, string.Join('\n', diffs.Take(20)));
        }

        public ValueTask DisposeAsync() => faults.DisposeAsync();
    }
}
