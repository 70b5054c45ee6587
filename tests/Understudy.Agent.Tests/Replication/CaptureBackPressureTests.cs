using System.Collections.Concurrent;
using System.Globalization;
using Understudy.Agent.Replication;
using Understudy.Agent.Replication.Capture;
using Understudy.Agent.Source;
using Understudy.Core.Jobs;
using Understudy.Core.Paths;
using Understudy.Core.Queue;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Replication;

/// <summary>
/// The capture pipeline's channel (watchers → batching loop) is bounded (issue 20, item 5): under sustained churn with a
/// batching loop that cannot keep up, memory stays bounded. A full channel makes the watchers' pumps wait; the watcher's
/// own channel then fills, and what it must drop an overflow stands for (the catch-up mirror), so nothing is lost.
/// </summary>
public sealed class CaptureBackPressureTests
{
    private const int Capacity = 64;

    [Theory]
    [InlineData("auto")]
    [InlineData("inotify")]
    public async Task StalledBatching_ChannelStaysBounded_AndEveryFileIsQueuedOrCoveredByAnOverflow(string capture)
    {
        var method = Enum.Parse<WatcherMethod>(capture, ignoreCase: true);
        using var dir = new TempDir();
        var root = dir.Sub("root");
        Directory.CreateDirectory(root);
        var job = new JobDefinition("j", [new SourceRoot(root, RelPath.Root)], (_, _) => false, "", "", "", MirrorMode.Different, false);
        using var log = SegmentLog.Open(dir.Sub("queue"));
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var overflows = new ConcurrentBag<RelPath>();
        await using var pipeline = new CapturePipeline(job, log, TimeSpan.FromMilliseconds(20), TimeProvider.System)
        {
            WatcherOptions = WatcherOptions.Default with { Prefer = method, ChannelCapacity = Capacity },
            BatchGate = gate.Task,
            Overflowed = (_, path, _) => overflows.Add(path),
        };
        pipeline.Start();
        await Wait.UntilAsync(() => pipeline.Progress.Count == 1 && pipeline.Progress[0].IsReady, TimeSpan.FromSeconds(30), "the watcher set up");

        // A burst far beyond both channels while the batching loop takes nothing.
        const int files = 3000;
        for (int i = 0; i < files; i++)
            await File.WriteAllTextAsync(Path.Combine(root, "f" + i.ToString(CultureInfo.InvariantCulture)), "x");
        await Wait.UntilAsync(() => pipeline.BackPressured > 0 || pipeline.Backlog > Capacity, TimeSpan.FromSeconds(30),
            "the pipeline's channel to fill");
        Assert.True(pipeline.Backlog <= Capacity, $"{pipeline.Backlog} events wait in the pipeline's channel, bounded at {Capacity}");

        gate.SetResult();
        await Wait.UntilAsync(() => pipeline.WatchersQuiet && pipeline.PendingEvents == 0, TimeSpan.FromSeconds(60), "the pipeline to drain");
        var queued = new HashSet<RelPath>();
        foreach (var rec in log.ReadFrom(1))
        {
            if (ReplicationRecord.TryDecode(rec.Payload.Span, out var r))
                queued.Add(r.Path);
        }
        // Events were dropped (the watcher's channel holds 64): an overflow of the root stands for them.
        Assert.Contains(RelPath.Root, overflows);
        for (int i = 0; i < files; i++)
        {
            var p = RelPath.Parse("f" + i.ToString(CultureInfo.InvariantCulture));
            Assert.True(queued.Contains(p) || overflows.Any(o => p.IsUnder(o)), $"{p} neither queued nor covered by an overflow");
        }
    }
}
