using System.Diagnostics;
using Understudy.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.Agent.Tests.Replication;

/// <summary>
/// A big file (a database's) written without pause by 4 KiB random writes with an fsync after each, in a file-mode job:
/// it goes as a block delta (MirrorEngine.DeltaMinSize), whose read of the file takes a while and always sees it
/// changing. Each send must still complete and be acknowledged (content as read), the next write queued again, so
/// the target gets writes made while the writer runs, and the status' oldest pending age tells how late the target
/// is instead of how long the writer has run (issue 17: in file mode that age grew from 0 to the whole run, 19 s of
/// 20 s, for fio's randwrite and for pgbench).
/// </summary>
public sealed class BusyBigFileTests(ITestOutputHelper output)
{
    private const int Block = 4096;
    private const long Size = 64L << 20;

    /// <summary>Far beyond the promised bound (max_hold plus one send) on a loaded CI machine.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(150);

    /// <summary>An age below this once the writer has run for <see cref="Workload"/>: the target is less late than
    /// the writer has been writing. Generous: a send of the file here takes a few seconds under load.</summary>
    private static readonly TimeSpan AgeBound = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan Workload = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task ABigFileWrittenWithoutPause_ReachesTheTarget_AndTheAgeDropsWhileItIsWritten()
    {
        await using var pair = new AgentPair();
        pair.Source.Environment["Logging__LogLevel__Understudy.Trace"] = "Debug";
        await pair.StartAsync();
        var source = Path.Combine(pair.SourceData, "busy.db");
        var target = Path.Combine(pair.TargetData, "busy.db");
        var rng = new Random(17);
        var content = new byte[Size];
        rng.NextBytes(content);
        await File.WriteAllBytesAsync(source, content);
        content = [];
        await pair.ApplyAsync(pair.JobYaml(orphans: "delete", extra: "replication:\n  enabled: true"));
        await pair.WaitMirroredAsync();
        await ReplicationTests.WaitIdleAsync(pair, seconds: 180);

        var marker = new byte[Block];
        rng.NextBytes(marker);
        using var stop = new CancellationTokenSource();
        int markNow = 0;
        long writes = 0;
        var writer = Task.Run(() =>
        {
            // pwrite + fsync of random blocks, never a pause; the last block is the marker's alone.
            using var fs = new FileStream(source, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1);
            var r = new Random(1);
            var block = new byte[Block];
            bool marked = false;
            while (!stop.IsCancellationRequested)
            {
                long at = r.NextInt64(Size / Block - 1) * Block;
                var data = block;
                if (!marked && Volatile.Read(ref markNow) == 1)
                {
                    (at, data, marked) = (Size - Block, marker, true);
                }
                else
                {
                    r.NextBytes(block);
                }
                fs.Position = at;
                fs.Write(data);
                fs.Flush(flushToDisk: true);
                Interlocked.Increment(ref writes);
            }
        });
        var ages = new List<string>();
        async Task<double> AgeAsync(Stopwatch clock)
        {
            var st = await pair.Source.StatusAsync("job1");
            double age = st["replication"]?["oldestPendingAgeSeconds"]?.GetValue<double>() ?? 0;
            ages.Add($"{clock.Elapsed.TotalSeconds:0.0}s:{age:0.0}");
            return age;
        }
        string Why() => $"writes {Interlocked.Read(ref writes)}; ages (time:age) {string.Join(" ", ages)}\nSOURCE:\n{pair.Source.Log}\nTARGET:\n{pair.Target.Log}";
        try
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < Workload)
            {
                Assert.False(writer.IsCompleted, $"the writer stopped: {writer.Exception}");
                await AgeAsync(clock);
                await Task.Delay(500); // the workload runs: the writer is never quiet
            }
            Volatile.Write(ref markNow, 1);
            var marked = Stopwatch.StartNew();
            while (!HasMarker(target, marker))
            {
                Assert.False(writer.IsCompleted, $"the writer stopped: {writer.Exception}");
                Assert.True(marked.Elapsed < Deadline, $"the marker written {marked.Elapsed.TotalSeconds:0} s ago is not on the target; {Why()}");
                await AgeAsync(clock);
                await Task.Delay(250);
            }
            output.WriteLine($"the marker reached the target {marked.Elapsed.TotalSeconds:0.0} s after it was written");
            var aged = Stopwatch.StartNew();
            while (await AgeAsync(clock) >= AgeBound.TotalSeconds)
            {
                Assert.False(writer.IsCompleted, $"the writer stopped: {writer.Exception}");
                Assert.True(aged.Elapsed < Deadline, $"the oldest pending age never dropped below {AgeBound.TotalSeconds} s while the file was written; {Why()}");
                await Task.Delay(250);
            }
            Assert.False(writer.IsCompleted, "the writer must still be running");
            output.WriteLine($"writes {Interlocked.Read(ref writes)}; ages (time:age) {string.Join(" ", ages)}");
        }
        finally
        {
            await stop.CancelAsync();
            await writer;
        }
        await ReplicationTests.WaitIdleAsync(pair, seconds: 180);
        Assert.True(File.ReadAllBytes(source).AsSpan().SequenceEqual(File.ReadAllBytes(target)), "the replica differs once the writer stopped");
    }

    /// <summary>The replica's last block is the marker (a file is published whole under its name on the target).</summary>
    private static bool HasMarker(string path, byte[] marker)
    {
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            if (fs.Length < Size)
                return false;
            var buf = new byte[Block];
            fs.Position = Size - Block;
            fs.ReadExactly(buf);
            return buf.AsSpan().SequenceEqual(marker);
        }
        catch (FileNotFoundException)
        {
            return false;
        }
    }
}
