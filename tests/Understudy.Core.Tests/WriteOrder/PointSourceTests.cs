using Understudy.Core.Tests.WriteOrder.Support;
using Understudy.Core.WriteOrder;
using Understudy.Core.WriteOrder.Source;
using Xunit;

namespace Understudy.Core.Tests.WriteOrder;

/// <summary>The source side of consistency points on a real btrfs: points under continuous writes applied by
/// PointApplier to an ext4 replica that must equal each snapshot, no point while idle, no clone from the previous
/// point in a delta, the points directory absent from the points, and Check's refusals.</summary>
public sealed class PointSourceTests
{
    [BtrfsFact]
    public async Task TakeAndSend_UnderContinuousWrites_ReplicaEqualsEachSnapshot()
    {
        using var b = new BtrfsScratch();
        string data = Path.Combine(b.Vol, "data");
        Directory.CreateDirectory(data);
        var churn = new TreeChurn(data, new Random(17));
        churn.Seed(30);
        using var source = PointSource.Open(data, TimeProvider.System);
        string replica = Path.Combine(b.Plain, "replica");
        Directory.CreateDirectory(replica);
        var journal = PointJournal.Create(Path.Combine(b.Plain, "journal"), -1);
        using var stopChurn = new CancellationTokenSource();
        var writer = Task.Run(() =>
        {
            while (!stopChurn.IsCancellationRequested)
                churn.Change(3);
        });
        try
        {
            SourcePoint? parent = null;
            for (int i = 0; i < 6; i++)
            {
                // The writer never stops, but a check may come before its next transaction (a buffered overwrite starts
                // none until written back): then no point, and the next check takes one.
                SourcePoint? point = null;
                for (int tries = 0; point is null && tries < 400; tries++)
                {
                    point = source.TryTake();
                    if (point is null)
                        await Task.Delay(10);
                }
                Assert.NotNull(point);
                var delta = new MemoryStream();
                var record = await source.SendAsync(point, parent, delta, CancellationToken.None);
                Assert.Equal(delta.Length, record.DeltaBytes);
                delta.Position = 0;
                await journal.ReceiveAsync(point.Seq, delta, CancellationToken.None);
                using (var applier = new PointApplier(replica))
                    Assert.Equal(point.Seq, journal.ApplyPending(applier));
                string snap = Path.Combine(source.Subvolume.PointsDir, point.Name);
                var diff = TreeImage.Diff(Points.WithoutPointsDir(TreeImage.Take(snap)), TreeImage.Take(replica)).Take(10).ToList();
                Assert.True(diff.Count == 0, $"point {point.Seq} ({record.Commands} commands):\n" + string.Join('\n', diff));
                source.Retire(record);
                parent = point;
            }
        }
        finally
        {
            await stopChurn.CancelAsync();
            await writer;
        }
        Assert.True(source.Kept.Count <= 2, $"{source.Kept.Count} snapshots kept after retiring");
    }

    [BtrfsFact]
    public async Task TryTake_Idle_TakesNoPointOnceSettled_AndTakesOneAfterAnFsyncedWrite()
    {
        using var b = new BtrfsScratch();
        File.WriteAllText(Path.Combine(b.Vol, "f"), "0");
        using var source = PointSource.Open(b.Vol, TimeProvider.System);
        SourcePoint? last = null;
        // Points and their retirement start transactions of their own (the cleaner freeing deleted snapshots):
        // a few points may follow, all empty; then the source must settle and skip.
        int consecutiveSkips = 0;
        for (int attempt = 0; attempt < 200 && consecutiveSkips < 10; attempt++)
        {
            if (source.TryTake() is { } p)
            {
                consecutiveSkips = 0;
                var record = await source.SendAsync(p, last, Stream.Null, CancellationToken.None);
                Assert.True(last is null || record.Empty, $"point {p.Seq} changed something on an idle subvolume ({record.Commands} commands)");
                source.Retire(record);
                last = p;
            }
            else
                consecutiveSkips++;
            await Task.Delay(50);
        }
        Assert.True(consecutiveSkips >= 10, "the source never settled: a point at every check on an idle subvolume");
        Assert.True(source.Kept.Count <= source.KeepAtMost + 1, $"{source.Kept.Count} snapshots kept");
        var before = source.ConsistentAsOf;
        Assert.Null(source.TryTake());
        Assert.True(source.ConsistentAsOf >= before);

        using (var f = new FileStream(Path.Combine(b.Vol, "f"), FileMode.Open))
        {
            f.Write("1"u8);
            f.Flush(flushToDisk: true);
        }
        var changed = source.TryTake();
        Assert.NotNull(changed);
        var delta = await source.SendAsync(changed, last, Stream.Null, CancellationToken.None);
        Assert.False(delta.Empty);
    }

    [BtrfsFact]
    public async Task Send_ReflinkCopyOfAFileInThePreviousPoint_NoCloneFromTheParent_Applies()
    {
        using var b = new BtrfsScratch();
        var big = new byte[1 << 20];
        new Random(3).NextBytes(big);
        File.WriteAllBytes(Path.Combine(b.Vol, "big"), big);
        using var source = PointSource.Open(b.Vol, TimeProvider.System);
        var p0 = source.TryTake()!;
        string replica = Path.Combine(b.Plain, "replica");
        BtrfsScratch.Run("cp", "-a", "--reflink=never", Path.Combine(source.Subvolume.PointsDir, p0.Name), replica);
        Directory.Delete(Path.Combine(replica, PointSubvolume.PointsDirName)); // the stand-in a send leaves out
        // Debian's cp reflinks by default; the original then goes, so the only source of the copy's extents is the
        // previous point.
        BtrfsScratch.Run("cp", "--reflink=always", Path.Combine(b.Vol, "big"), Path.Combine(b.Vol, "copy"));
        File.Delete(Path.Combine(b.Vol, "big"));
        var p1 = source.TryTake()!;
        string snap0 = Path.Combine(source.Subvolume.PointsDir, p0.Name), snap1 = Path.Combine(source.Subvolume.PointsDir, p1.Name);

        // What `btrfs send -p` would have sent: the copy as a clone from the parent, which PointApplier refuses.
        string progs = b.Send(snap1, snap0, "progs");
        Assert.Contains(Commands(File.ReadAllBytes(progs)), c => c.Kind == SendCommandKind.Clone && c.Uuid(SendAttribute.CloneUuid) == p0.Info.Uuid);

        var delta = new MemoryStream();
        await source.SendAsync(p1, p0, delta, CancellationToken.None);
        var commands = Commands(delta.ToArray());
        Assert.DoesNotContain(commands, c => c.Kind == SendCommandKind.Clone && c.Uuid(SendAttribute.CloneUuid) != p1.Info.Uuid);
        var journal = PointJournal.Create(Path.Combine(b.Plain, "journal"), 0);
        delta.Position = 0;
        await journal.ReceiveAsync(1, delta, CancellationToken.None);
        using (var applier = new PointApplier(replica))
            Assert.Equal(1, journal.ApplyPending(applier));
        var diff = TreeImage.Diff(Points.WithoutPointsDir(TreeImage.Take(snap1)), TreeImage.Take(replica)).Take(10).ToList();
        Assert.True(diff.Count == 0, string.Join('\n', diff));
    }

    [BtrfsFact]
    public async Task Points_DoNotContainThePointsDirectory_NorTheirStreams()
    {
        using var b = new BtrfsScratch();
        File.WriteAllText(Path.Combine(b.Vol, "f"), "x");
        using var source = PointSource.Open(b.Vol, TimeProvider.System);
        var p0 = source.TryTake()!;
        File.WriteAllText(Path.Combine(b.Vol, "g"), "y");
        var p1 = source.TryTake()!;
        string inSnap = Path.Combine(source.Subvolume.PointsDir, p1.Name, PointSubvolume.PointsDirName);
        Assert.True(Directory.Exists(inSnap));
        Assert.Empty(Directory.EnumerateFileSystemEntries(inSnap)); // not p0, not p1 itself
        // and btrfs send leaves the empty stand-in out: a replica never shows the points directory
        var delta = new MemoryStream();
        await source.SendAsync(p1, null, delta, CancellationToken.None);
        Assert.DoesNotContain(Commands(delta.ToArray()), c => c.Has(SendAttribute.Path) && System.Text.Encoding.UTF8.GetString(c.Bytes(SendAttribute.Path)).Contains(PointSubvolume.PointsDirName, StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(source.Subvolume.PointsDir, p0.Name, "f")));
    }

    [BtrfsFact]
    public void Check_PathNotOnBtrfs_RefusedNamingTheFileSystem()
    {
        using var b = new BtrfsScratch();
        string tmpfs = Path.Combine(b.Root, "tmpfs");
        Directory.CreateDirectory(tmpfs);
        BtrfsScratch.Run("mount", "-t", "tmpfs", "none", tmpfs);
        string ext4 = Path.Combine(b.Root, "ext4");
        Directory.CreateDirectory(ext4);
        string img = Path.Combine(b.Root, "ext4.img");
        using (var f = File.Create(img))
            f.SetLength(64L << 20);
        BtrfsScratch.Run("mkfs.ext4", "-q", "-F", img);
        BtrfsScratch.Run("mount", "-o", "loop", img, ext4);
        try
        {
            var e = Assert.Throws<WriteOrderUnsupportedException>(() => PointSubvolume.Check(tmpfs));
            Assert.Contains("needs btrfs", e.Message, StringComparison.Ordinal);
            Assert.Contains("is on tmpfs", e.Message, StringComparison.Ordinal);
            e = Assert.Throws<WriteOrderUnsupportedException>(() => PointSubvolume.Check(ext4));
            Assert.Contains("is on ext4", e.Message, StringComparison.Ordinal);
            Assert.Contains(ext4, e.Message, StringComparison.Ordinal);
            string file = Path.Combine(b.Vol, "file");
            File.WriteAllText(file, "");
            Assert.Contains("protects directories", Assert.Throws<WriteOrderUnsupportedException>(() => PointSubvolume.Check(file)).Message, StringComparison.Ordinal);
            var ok = PointSubvolume.Check(Path.Combine(b.Vol));
            Assert.Equal(b.Vol, ok.Root);
            Directory.CreateDirectory(Path.Combine(b.Vol, "a", "b"));
            Assert.Equal(("a/b", b.Vol), (PointSubvolume.Check(Path.Combine(b.Vol, "a", "b")).RelativePath, PointSubvolume.Check(Path.Combine(b.Vol, "a", "b")).Root));
            string ro = Path.Combine(b.Mount, "ro");
            BtrfsScratch.Run("btrfs", "subvolume", "snapshot", "-r", b.Vol, ro);
            Assert.Contains("read-only", Assert.Throws<WriteOrderUnsupportedException>(() => PointSubvolume.Check(Path.Combine(ro, "a"))).Message, StringComparison.Ordinal);
        }
        finally
        {
            BtrfsScratch.Run("umount", tmpfs);
            BtrfsScratch.Run("umount", ext4);
        }
    }

    private static List<SendCommand> Commands(byte[] stream)
    {
        var r = new SendStreamReader(new MemoryStream(stream));
        r.ReadHeader();
        var list = new List<SendCommand>();
        while (r.ReadCommand() is { } c)
            list.Add(c);
        return list;
    }
}
