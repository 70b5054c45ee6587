using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Understudy.Agent.Events;
using Understudy.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.Agent.Tests.Failover;

/// <summary>
/// The fail-over of a file-mode job states the true RPO: how far before the source was lost the replica is complete
/// (issue 17: it said "oldest 0 s old" while seconds of commits were missing). The figure may overstate the loss
/// (it is a bound), never understate it.
/// </summary>
public sealed class FailoverRpoTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Failover_SourceKilledWhileAFileIsWritten_StatesAnRpoNoShorterThanTheWritesLost()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        File.WriteAllText(Path.Combine(pair.SourceData, "a.txt"), "hello");
        await pair.ApplyAsync(pair.JobYaml(extra: pair.FailoverYaml()));
        await pair.WaitMirroredAsync();
        await pair.Target.ApproveFailoverAsync("job1");
        await Wait.UntilAsync(async () => (await pair.Target.FailoverAsync("job1"))?["sourceQueue"]?["ops"]?.GetValue<long>() == 0,
            TimeSpan.FromSeconds(30), "the source to report an empty queue");

        // A log kept open and written every 50 ms, each line stamped with when it was written. Replication goes on
        // for a while, then stops getting through (paused: the session stays open and the source keeps reporting),
        // and the source dies while the file is still written.
        var times = new List<DateTimeOffset>();
        var clock = Stopwatch.StartNew();
        await using (var fs = new FileStream(Path.Combine(pair.SourceData, "busy.log"), FileMode.CreateNew, FileAccess.Write, FileShare.Read))
        {
            async Task WriteForAsync(TimeSpan span)
            {
                var until = clock.Elapsed + span;
                while (clock.Elapsed < until)
                {
                    await fs.WriteAsync(Encoding.ASCII.GetBytes($"{times.Count + 1}\n"));
                    await fs.FlushAsync();
                    times.Add(DateTimeOffset.UtcNow);
                    await Task.Delay(50);
                }
            }
            // Until some lines are on the replica (not a fixed 2 s: on a loaded machine nothing might have got through
            // by then, and the replica would have no busy.log at all), then paused.
            var replica = Path.Combine(pair.TargetData, "busy.log");
            var replicating = clock.Elapsed + TimeSpan.FromSeconds(60);
            do
                await WriteForAsync(TimeSpan.FromMilliseconds(200));
            while (!(File.Exists(replica) && new FileInfo(replica).Length > 0) && clock.Elapsed < replicating);
            Assert.True(File.Exists(replica), "nothing of busy.log reached the target in 60 s of writing");
            (await pair.Source.CliAsync("pause", "job1")).EnsureOk();
            await WriteForAsync(TimeSpan.FromSeconds(2.5));
            // The capture side knows a write when its watcher's event is read, a few ms after it was made (the one lag the
            // figure cannot see: the kernel dates no event); the source dies a little after its last write, as a source
            // does that is lost while it writes. (The coalescing window, the capture loop's backlog and a report's wait
            // behind data no longer start the figure late: the write is dated when read, the report by the source's clock.)
            await Task.Delay(300);
            pair.Source.Kill();
        }
        var lastWrite = times[^1];

        await Wait.UntilAsync(async () => (await pair.Target.FailoverAsync("job1"))?["state"]?.GetValue<string>() == "fail-over-pending",
            TimeSpan.FromSeconds(30), "fail-over pending");
        (await pair.Target.CliAsync("failover", "job1")).EnsureOk();

        // What the replica lacks: every line after the last one it has, written from firstLost until the source died.
        var lines = File.ReadAllText(Path.Combine(pair.TargetData, "busy.log")).Split('\n');
        int have = lines.Length >= 2 ? int.Parse(lines[^2], CultureInfo.InvariantCulture) : 0;
        Assert.True(have < times.Count, $"the replica has all {times.Count} lines: nothing was lost, the test proves nothing");
        var firstLost = times[have];
        double lostSpan = (lastWrite - firstLost).TotalSeconds;

        var stopped = Assert.Single(await pair.Target.EventsAsync("job1"), e => e.Code() == EventCode.ReplicationStopped);
        var message = stopped.Message();
        var data = JsonNode.Parse(stopped["data"]!.GetValue<string>())!;
        output.WriteLine($"lines on the source {times.Count}, on the replica {have}; writes lost over {lostSpan:0.000} s; event: {message}");
        // Where the bound's margin comes from: the start (complete as of vs the first write lost) and the end (the source
        // lost vs its last write); a positive start is a bound too late by that much.
        if (data["completeAsOf"]?.GetValue<string>() is { } asOf && data["sourceLostAt"]?.GetValue<string>() is { } lostAt)
            output.WriteLine($"start: complete as of − first write lost = {(DateTimeOffset.Parse(asOf, CultureInfo.InvariantCulture) - firstLost).TotalSeconds:0.000} s; "
                + $"end: source lost − last write = {(DateTimeOffset.Parse(lostAt, CultureInfo.InvariantCulture) - lastWrite).TotalSeconds:0.000} s; report arrived {data["reportedAt"]}");
        double? rpo = data["rpoSeconds"]?.GetValue<double>();
        Assert.True(rpo is not null, $"no rpoSeconds in the event (writes lost over {lostSpan:0.000} s; the source's last report said "
            + $"oldest {data["inFlightAgeSeconds"]} s): {message}");
        Assert.True(rpo >= lostSpan, $"the event states an RPO of {rpo} s, but writes of the last {lostSpan:0.000} s were lost: {message}");
        Assert.Contains($"lacks at most the last {rpo:0.0} s", message, StringComparison.Ordinal);
    }
}
