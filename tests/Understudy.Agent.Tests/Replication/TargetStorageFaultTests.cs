using System.Text.Json.Nodes;
using Understudy.Agent.Events;
using Understudy.Agent.Tests.Replication.Convergence;
using Understudy.Agent.Tests.Replication.Faults.Support;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Replication;

/// <summary>
/// The target's disk failing under the replica, through the fault-injecting file system (UNDERSTUDY_FAULT_FS: a control
/// file this test rewrites while the real target agent runs). The job must say so truthfully (state error with the
/// target's reason, an event; `wait` fails at once with exit 1), acknowledge nothing that was not made durable, and
/// heal by itself once the disk works again: every file arrives, and the trees compare equal by an independent walk.
/// </summary>
public sealed class TargetStorageFaultTests
{
    private const int Written = 60;

    [Fact]
    public async Task Replication_TargetWritesFailWithEio_JobInErrorWithReason_WaitFailsFast_HealsWhenCleared()
    {
        await using var f = await FaultedPairAsync();
        await f.FaultAsync("create,write,truncate EIO");
        WriteFiles(f.Pair, "written-while-the-replica-failed");

        var wait = await f.Pair.Source.CliAsync("wait", "job1", "--until", "idle", "--timeout", "90");
        Assert.True(wait.ExitCode == 1, $"wait exit {wait.ExitCode}: {wait.Stdout}{wait.Stderr}; {await f.DescribeAsync()}");
        Assert.Contains("Input/output error", wait.Stderr, StringComparison.Ordinal);
        var status = await f.Pair.Source.StatusAsync("job1");
        Assert.Equal("error", status["state"]?.GetValue<string>());
        Assert.Contains("target cannot write", status["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains(EventCode.TargetStorageFault, (await f.Pair.Source.EventsAsync("job1")).Codes());
        Assert.Contains(EventCode.ApplyIoFailed, (await f.Pair.Target.EventsAsync()).Codes());
        Assert.DoesNotContain(EventCode.LinkLost, (await f.Pair.Source.EventsAsync("job1")).Codes());

        await f.ClearAndConvergeAsync();
    }

    [Fact]
    public async Task Replication_TargetSyncFails_NothingAcknowledged_ResentAndHealsWhenCleared()
    {
        await using var f = await FaultedPairAsync();
        long ackedBefore = Acked(await f.Pair.Source.StatusAsync("job1"));
        await f.FaultAsync("syncfs,fsync EIO");
        WriteFiles(f.Pair, "written-while-syncfs-failed");

        var wait = await f.Pair.Source.CliAsync("wait", "job1", "--until", "idle", "--timeout", "90");
        Assert.True(wait.ExitCode == 1, $"wait exit {wait.ExitCode}: {wait.Stdout}{wait.Stderr}; {await f.DescribeAsync()}");
        Assert.Contains("syncfs", wait.Stderr, StringComparison.Ordinal);
        // Records were queued and sent, and the target applied them, but could not make them durable: none is acknowledged.
        var status = await f.Pair.Source.StatusAsync("job1");
        Assert.Equal("error", status["state"]?.GetValue<string>());
        var replication = status["replication"]!;
        Assert.True(replication["lastSeq"]!.GetValue<long>() > ackedBefore, status.ToJsonString());
        Assert.Equal(ackedBefore, Acked(status));
        Assert.True(replication["opsPending"]!.GetValue<long>() > 0, status.ToJsonString());

        await f.ClearAndConvergeAsync();
        Assert.True(Acked(await f.Pair.Source.StatusAsync("job1")) > ackedBefore);
    }

    private static long Acked(JsonNode status) => status["replication"]!["ackedSeq"]!.GetValue<long>();

    private static void WriteFiles(AgentPair pair, string name)
    {
        var dir = Path.Combine(pair.SourceData, "sub");
        Directory.CreateDirectory(dir);
        for (int i = 0; i < Written; i++)
            File.WriteAllText(Path.Combine(dir, $"{name}-{i:D3}.txt"), $"{name} {i}");
        // And one big file (data frames, direct I/O on the target), not only whole small ones.
        File.WriteAllBytes(Path.Combine(pair.SourceData, $"{name}.bin"), [.. Enumerable.Range(0, 3 << 20).Select(i => (byte)(i * 7))]);
    }

    private static async Task<FaultedPair> FaultedPairAsync() =>
        new(await FaultFsPair.StartAsync(onSource: false, pair => Path.Combine(AgentProcess.TestRoot, Path.GetFileName(pair.Dir.Path), "replica")));

    /// <summary>The fault is set below the replica as the target's descriptors show it.</summary>
    private sealed class FaultedPair(FaultFsPair faults) : IAsyncDisposable
    {
        public AgentPair Pair => faults.Pair;

        public Task FaultAsync(string opsAndErrno) => faults.FaultAsync(opsAndErrno);

        public async Task<string> DescribeAsync() =>
            $"status {(await Pair.Source.StatusAsync("job1")).ToJsonString()}; source events:\n{(await Pair.Source.EventsAsync("job1")).Describe()}\ntarget events:\n{(await Pair.Target.EventsAsync()).Describe()}";

        /// <summary>Clears the fault; the job heals by itself and the replica equals the source.</summary>
        public async Task ClearAndConvergeAsync()
        {
            await faults.ClearAsync();
            await faults.WaitIdleAsync("the job to heal once the fault was cleared", DescribeAsync);
            Assert.Contains(EventCode.TargetStorageHealed, (await Pair.Source.EventsAsync("job1")).Codes());
            var diffs = TreeSnapshot.Compare(TreeSnapshot.Take(Pair.SourceData), TreeSnapshot.Take(Pair.TargetData, r => r == ".understudy-tmp"));
            Assert.True(diffs.Count == 0, string.Join('\n', diffs.Take(20)));
        }

        public ValueTask DisposeAsync() => faults.DisposeAsync();
    }
}
