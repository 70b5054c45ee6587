using System.Collections.Concurrent;
using Understudy.Core.Tests.WriteOrder.Support;
using Understudy.Core.WriteOrder;
using Understudy.Core.WriteOrder.Source;
using Xunit;

namespace Understudy.Core.Tests.WriteOrder;

/// <summary>The loop on a real btrfs under continuous writes: every point it sends, applied in order to a replica, gives
/// the newest snapshot exactly; sequence numbers only grow. A point is taken only once the previous one is sent and
/// acknowledged: none is taken while a send runs (each costs the workload a transaction commit, and would be thrown
/// away unsent).</summary>
public sealed class PointLoopTests
{
    [BtrfsFact]
    public async Task Run_UnderContinuousWrites_DeltasAppliedInOrderEqualTheLastPoint()
    {
        using var b = new BtrfsScratch();
        string data = Path.Combine(b.Vol, "data");
        Directory.CreateDirectory(data);
        var churn = new TreeChurn(data, new Random(99));
        churn.Seed(30);
        using var source = PointSource.Open(data, TimeProvider.System);
        string deltas = Path.Combine(b.Plain, "deltas");
        Directory.CreateDirectory(deltas);
        var records = new ConcurrentQueue<PointRecord>();
        var loop = new PointLoop(source, TimeProvider.System, TimeSpan.FromMilliseconds(100), null,
            p => File.Create(Path.Combine(deltas, p.Name)), records.Enqueue);
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
                churn.Change(3);
        });
        var running = loop.RunAsync(stop.Token);
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (records.Count < 8 && !running.IsCompleted && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        await stop.CancelAsync();
        await writer;
        await running;
        var sent = records.ToList();
        Assert.True(sent.Count >= 8, $"{sent.Count} points sent");
        Assert.Null(sent[0].ParentSeq);
        for (int i = 1; i < sent.Count; i++)
        {
            Assert.Equal(sent[i - 1].Seq, sent[i].ParentSeq);
            Assert.True(sent[i].Seq > sent[i - 1].Seq);
            Assert.True(sent[i].TakenAt >= sent[i - 1].TakenAt);
        }

        string replica = Path.Combine(b.Plain, "replica");
        Directory.CreateDirectory(replica);
        var journal = PointJournal.Create(Path.Combine(b.Plain, "journal"), -1);
        // The journal numbers points in the order they are shipped (0, 1, 2...): snapshots superseded unsent leave
        // gaps in the source's numbers, never in the target's.
        for (int i = 0; i < sent.Count; i++)
        {
            await using (var f = File.OpenRead(Path.Combine(deltas, sent[i].Seq.ToString(System.Globalization.CultureInfo.InvariantCulture))))
                await journal.ReceiveAsync(i, f, CancellationToken.None);
            using var applier = new PointApplier(replica);
            Assert.Equal(i, journal.ApplyPending(applier));
        }
        string last = Path.Combine(source.Subvolume.PointsDir, sent[^1].Seq.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var diff = TreeImage.Diff(Points.WithoutPointsDir(TreeImage.Take(last)), TreeImage.Take(replica)).Take(10).ToList();
        Assert.True(diff.Count == 0, string.Join('\n', diff));
    }

    [BtrfsFact]
    public async Task Run_SlowAcknowledgement_TakesNoPointWhileOneIsInFlight()
    {
        using var b = new BtrfsScratch();
        string data = Path.Combine(b.Vol, "data");
        Directory.CreateDirectory(data);
        var churn = new TreeChurn(data, new Random(7));
        churn.Seed(10);
        using var source = PointSource.Open(data, TimeProvider.System);
        var records = new ConcurrentQueue<(PointRecord Record, DateTimeOffset AckedAt)>();
        // The interval is far shorter than a point's round trip (the acknowledgement takes 300 ms here): a loop that
        // snapshots on every tick would take several points per send and throw all but the newest away.
        var loop = new PointLoop(source, TimeProvider.System, TimeSpan.FromMilliseconds(20), null,
            _ => Stream.Null,
            async (r, ct) =>
            {
                await Task.Delay(300, ct);
                records.Enqueue((r, DateTimeOffset.UtcNow));
            });
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
                churn.Change(2);
        });
        var running = loop.RunAsync(stop.Token);
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (records.Count < 5 && !running.IsCompleted && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        await stop.CancelAsync();
        await writer;
        await running;
        var sent = records.ToList();
        Assert.True(sent.Count >= 5, $"{sent.Count} points sent");
        for (int i = 1; i < sent.Count; i++)
        {
            // Consecutive snapshot numbers: no snapshot was taken and superseded unsent.
            Assert.Equal(sent[i - 1].Record.Seq + 1, sent[i].Record.Seq);
            Assert.True(sent[i].Record.TakenAt >= sent[i - 1].AckedAt, $"point {sent[i].Record.Seq} was taken before point {sent[i - 1].Record.Seq} was acknowledged");
        }
    }
}
