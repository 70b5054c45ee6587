using Understudy.Core.Tests.WriteOrder.Support;
using Understudy.Core.WriteOrder;
using Xunit;

namespace Understudy.Core.Tests.WriteOrder;

/// <summary>Real points: a btrfs subvolume changed at random between two read-only snapshots, the delta made by
/// <c>btrfs send -p</c>, received and applied to an ext4 copy of the first snapshot, which must then equal the
/// second in every respect the walker sees.</summary>
public sealed class PointApplierBtrfsTests
{
    [BtrfsFact]
    public async Task Apply_RealIncrementalStreams_ReplicaEqualsEachSnapshot()
    {
        using var b = new BtrfsScratch();
        var rnd = new Random(20261206);
        var churn = new TreeChurn(b.Vol, rnd);
        churn.Seed(40);
        string prev = b.Snapshot("0");
        string replica = Path.Combine(b.Plain, "replica");
        BtrfsScratch.Run("cp", "-a", "--reflink=never", prev, replica);
        var journal = PointJournal.Create(Path.Combine(b.Plain, "journal"), 0);
        for (int point = 1; point <= 4; point++)
        {
            churn.Change(60);
            string cur = b.Snapshot(point.ToString(System.Globalization.CultureInfo.InvariantCulture));
            string stream = b.Send(cur, prev, $"p{point}");
            await using (var f = File.OpenRead(stream))
                await journal.ReceiveAsync(point, f, CancellationToken.None);
            using (var applier = new PointApplier(replica))
                Assert.Equal(point, journal.ApplyPending(applier));
            var diff = TreeImage.Diff(TreeImage.Take(cur), TreeImage.Take(replica)).Take(10).ToList();
            Assert.True(diff.Count == 0, $"point {point}:\n" + string.Join('\n', diff));
            prev = cur;
        }
    }

    [BtrfsFact]
    public async Task Apply_RealStream_CrashAtEveryBoundaryRegion_RedoEqualsSnapshot()
    {
        using var b = new BtrfsScratch();
        var churn = new TreeChurn(b.Vol, new Random(7));
        churn.Seed(30);
        string s0 = b.Snapshot("0");
        churn.Change(50);
        string s1 = b.Snapshot("1");
        string stream = b.Send(s1, s0, "p1");
        int count = CountCommands(stream);
        var expected = TreeImage.Take(s1);
        for (int k = 1; k < count - 1; k += Math.Max(1, count / 12))
        {
            string replica = Path.Combine(b.Plain, $"r{k}");
            BtrfsScratch.Run("cp", "-a", "--reflink=never", s0, replica);
            string jdir = Path.Combine(b.Plain, $"j{k}");
            var journal = PointJournal.Create(jdir, 0);
            await using (var f = File.OpenRead(stream))
                await journal.ReceiveAsync(1, f, CancellationToken.None);
            using (var applier = new PointApplier(replica) { BeforeCommand = i => { if (i == k) throw new SimulatedCrash(); } })
                Assert.Throws<SimulatedCrash>(() => journal.ApplyPending(applier));
            using (var applier = new PointApplier(replica))
                Assert.Equal(1, PointJournal.Recover(jdir, applier).State.Applied);
            var diff = TreeImage.Diff(expected, TreeImage.Take(replica)).Take(10).ToList();
            Assert.True(diff.Count == 0, $"crash before command {k} of {count}:\n" + string.Join('\n', diff));
        }
    }

    private static int CountCommands(string stream)
    {
        using var f = File.OpenRead(stream);
        var r = new SendStreamReader(f);
        r.ReadHeader();
        int n = 0;
        while (r.ReadCommand() is not null)
            n++;
        return n;
    }
}

internal sealed class SimulatedCrash : Exception;
