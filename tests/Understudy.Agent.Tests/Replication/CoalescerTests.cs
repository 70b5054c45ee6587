using Understudy.Agent.Replication;
using Understudy.Agent.Replication.Capture;
using Understudy.Core.Paths;
using Xunit;

namespace Understudy.Agent.Tests.Replication;

public sealed class CoalescerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static RootedEvent E(ChangeKind k, string path, bool dir = false, uint cookie = 0) =>
        new(0, new ChangeEvent(k, RelPath.Parse(path), dir, cookie));

    private static List<string> Run(Coalescer c, DateTimeOffset now, params RootedEvent[] events) =>
        [.. c.Process(events, now).Records.Select(r => r.ToString())];

    [Fact]
    public void RapidRewrites_OfOneFile_BecomeOneUpsert()
    {
        var c = new Coalescer();
        var r = Run(c, T0, E(ChangeKind.Created, "a/f"), E(ChangeKind.Modified, "a/f"), E(ChangeKind.Attributes, "a/f"), E(ChangeKind.Modified, "a/f"));
        Assert.Equal(["Upsert a/f", "DirMeta a"], r);
    }

    [Fact]
    public void DirectoryComesBeforeItsFiles_AndParentsMetadataLast_DeepestFirst()
    {
        var c = new Coalescer();
        var r = Run(c, T0, E(ChangeKind.Created, "d", true), E(ChangeKind.Created, "d/e", true), E(ChangeKind.Created, "d/e/f"), E(ChangeKind.Modified, "d/e/f"));
        Assert.Equal(["Upsert d", "Upsert d/e", "Upsert d/e/f", "DirMeta d/e", "DirMeta d", "DirMeta ."], r);
    }

    [Fact]
    public void PairedMove_IsOneRename_AfterTheWrite_AndLaterWritesAreNotMergedAcrossIt()
    {
        var c = new Coalescer();
        var r = Run(c, T0,
            E(ChangeKind.Modified, "a"),
            E(ChangeKind.MovedFrom, "a", cookie: 7),
            E(ChangeKind.MovedTo, "b", cookie: 7),
            E(ChangeKind.Created, "a"),
            E(ChangeKind.Modified, "a"));
        Assert.Equal(["Upsert a", "Rename a -> b", "Upsert a", "DirMeta ."], r); // one DirMeta for the parent of all three
    }

    [Fact]
    public void UnpairedMoves_AreDeleteAndTreeCopy()
    {
        var c = new Coalescer();
        var r = Run(c, T0, E(ChangeKind.MovedFrom, "out", true, cookie: 3), E(ChangeKind.MovedTo, "in", true, cookie: 9));
        Assert.Equal(["Delete out", "UpsertTree in", "DirMeta ."], r);
    }

    [Fact]
    public void MoveSplitBetweenTwoBatches_IsStillOneRename()
    {
        var c = new Coalescer();
        Assert.Equal(["Upsert x", "DirMeta ."], Run(c, T0, E(ChangeKind.Modified, "x"), E(ChangeKind.MovedFrom, "a/f", cookie: 5)));
        Assert.Equal(1, c.PendingWrites);
        Assert.Equal(T0 + c.PairWait, c.NextSettle);
        Assert.Equal(["Rename a/f -> b/f", "DirMeta a", "DirMeta b"], Run(c, T0, E(ChangeKind.MovedTo, "b/f", cookie: 5)));
        Assert.Equal(0, c.PendingWrites);
    }

    [Fact]
    public void MoveOutAtTheEndOfABatch_WaitsOneBatch_ThenIsADelete()
    {
        var c = new Coalescer();
        Assert.Empty(Run(c, T0, E(ChangeKind.MovedFrom, "gone", true, cookie: 8)));
        Assert.Equal(["Delete gone", "DirMeta ."], Run(c, T0 + c.PairWait));
        Assert.Null(c.NextSettle);
    }

    [Fact]
    public void DeleteThenRecreate_KeepsOrder()
    {
        var c = new Coalescer();
        var r = Run(c, T0, E(ChangeKind.Modified, "x"), E(ChangeKind.Deleted, "x"), E(ChangeKind.Created, "x"));
        Assert.Equal(["Upsert x", "Delete x", "Upsert x", "DirMeta ."], r);
    }

    [Fact]
    public void OpenWrites_WaitToSettle_ThenOneUpsert_CloseWriteSupersedes()
    {
        var c = new Coalescer { WriteSettle = TimeSpan.FromSeconds(1) };
        Assert.Empty(Run(c, T0, E(ChangeKind.Written, "log"), E(ChangeKind.Written, "log"), E(ChangeKind.Written, "other")));
        Assert.Equal(2, c.PendingWrites);
        Assert.Equal(T0 + TimeSpan.FromSeconds(1), c.NextSettle);
        Assert.Equal(["Upsert other", "DirMeta ."], Run(c, T0 + TimeSpan.FromMilliseconds(500), E(ChangeKind.Modified, "other")));
        Assert.Empty(Run(c, T0 + TimeSpan.FromMilliseconds(900), E(ChangeKind.Written, "log")));
        Assert.Equal(["Upsert log", "DirMeta ."], Run(c, T0 + TimeSpan.FromSeconds(2)));
        Assert.Equal(0, c.PendingWrites);
    }

    [Fact]
    public void AFileWrittenWithoutPause_IsStillQueuedOnceAMaxHold_NotHeldForEver()
    {
        // Issue 17: a busy database file is never quiet for WriteSettle; held until it is, its RPO was unbounded.
        var c = new Coalescer { WriteSettle = TimeSpan.FromSeconds(1), MaxHold = TimeSpan.FromSeconds(1) };
        var upserts = new List<DateTimeOffset>();
        for (int ms = 0; ms <= 3000; ms += 200)
        {
            var now = T0 + TimeSpan.FromMilliseconds(ms);
            if (Run(c, now, E(ChangeKind.Written, "db")).Contains("Upsert db"))
                upserts.Add(now);
            Assert.True(c.NextSettle is null || c.NextSettle <= now + c.MaxHold, $"next settle {c.NextSettle} at {now}");
        }
        Assert.Equal([T0 + TimeSpan.FromSeconds(1), T0 + TimeSpan.FromSeconds(2.2)], upserts.Take(2));
        Assert.InRange(upserts.Count, 2, 3);
    }

    [Fact]
    public void ARecordOfHeldWrites_SaysWhenTheFirstOfThemWasMade()
    {
        // Issue 17: the queue dates a record when it is queued, up to MaxHold after the write it carries.
        var c = new Coalescer { WriteSettle = TimeSpan.FromSeconds(1), MaxHold = TimeSpan.FromSeconds(1) };
        c.Process([E(ChangeKind.Written, "db")], T0);
        c.Process([E(ChangeKind.Written, "db")], T0 + TimeSpan.FromMilliseconds(500));
        var due = c.Process([E(ChangeKind.Written, "db")], T0 + TimeSpan.FromSeconds(1));
        Assert.Equal("Upsert db", due.Records[0].ToString());
        Assert.Equal(T0, due.HeldSince[0]);

        // Closed: the Modified's Upsert takes the held write in, and its time.
        c.Process([E(ChangeKind.Written, "log")], T0 + TimeSpan.FromSeconds(2));
        var closed = c.Process([E(ChangeKind.Created, "new"), E(ChangeKind.Modified, "log")], T0 + TimeSpan.FromSeconds(2.5));
        Assert.Equal(["Upsert new", "Upsert log", "DirMeta ."], closed.Records.Select(r => r.ToString()));
        Assert.Equal(T0 + TimeSpan.FromSeconds(2), Assert.Single(closed.HeldSince, h => h.Key == 1).Value);
        Assert.False(closed.HeldSince.ContainsKey(0));
    }

    [Fact]
    public void AHeldWrite_IsDatedWhenItsEventWasRead_NotWhenItsBatchIsProcessed()
    {
        // Issue 17: the batch is processed after the coalescing window, or later behind a backlog; dating the write then
        // started the fail-over's RPO late (FailoverRpoTests: 4–8 ms after the first write lost, at load ~20).
        var c = new Coalescer { WriteSettle = TimeSpan.FromSeconds(1), MaxHold = TimeSpan.FromSeconds(1) };
        var read = T0 - TimeSpan.FromMilliseconds(700);
        c.Process([E(ChangeKind.Written, "db") with { At = read }], T0);
        Assert.Equal(read, c.OldestHeld);
        // Held at most MaxHold from when the write was known, and the record says so.
        var due = c.Process([], read + TimeSpan.FromSeconds(1));
        Assert.Equal("Upsert db", due.Records[0].ToString());
        Assert.Equal(read, due.HeldSince[0]);
    }

    [Fact]
    public void OldestHeld_IsWhenTheLongestWaitingWriteBeganToWait()
    {
        var c = new Coalescer { WriteSettle = TimeSpan.FromSeconds(1), MaxHold = TimeSpan.FromSeconds(5) };
        Assert.Null(c.OldestHeld);
        Run(c, T0, E(ChangeKind.Written, "a"));
        Run(c, T0 + TimeSpan.FromMilliseconds(300), E(ChangeKind.Written, "a"), E(ChangeKind.Written, "b"));
        Assert.Equal(T0, c.OldestHeld);
        Assert.Equal(["Upsert a", "DirMeta ."], Run(c, T0 + TimeSpan.FromMilliseconds(1300), E(ChangeKind.Written, "b")));
        Assert.Equal(T0 + TimeSpan.FromMilliseconds(300), c.OldestHeld);
    }

    [Fact]
    public void PendingWrite_FollowsItsFileThroughARename_AndIsDroppedOnDelete()
    {
        var c = new Coalescer { WriteSettle = TimeSpan.FromSeconds(1) };
        Run(c, T0, E(ChangeKind.Written, "d/log"));
        Assert.Equal(["Rename d -> e", "DirMeta ."], Run(c, T0, E(ChangeKind.MovedFrom, "d", true, 1), E(ChangeKind.MovedTo, "e", true, 1)));
        Assert.Equal(["Upsert e/log", "DirMeta e"], Run(c, T0 + TimeSpan.FromSeconds(2)));
        Run(c, T0, E(ChangeKind.Written, "e/x"));
        Assert.Equal(["Delete e", "DirMeta ."], Run(c, T0 + TimeSpan.FromSeconds(5), E(ChangeKind.Deleted, "e", true)));
    }

    [Fact]
    public void AWriteThatSaysWhichFileItChanged_KeepsTheInodeWhileItSettles()
    {
        // A multiply linked file written (or truncated) through a name that is removed before the write settles: the
        // record must still say which file changed, the name cannot (convergence seed 2434).
        var c = new Coalescer { WriteSettle = TimeSpan.FromSeconds(1) };
        var inode = ((ulong)1, (ulong)42);
        Assert.Empty(c.Process([new(0, new ChangeEvent(ChangeKind.Written, RelPath.Parse("h"), false, Inode: inode))], T0).Records);
        var settled = c.Process([], T0 + TimeSpan.FromSeconds(2)).Records;
        Assert.Equal(inode, settled.Single(r => r.Kind == RecordKind.Upsert).Inode);
        // Removed before it settles: queued all the same, ahead of the removal (the file keeps its other names).
        Assert.Empty(c.Process([new(0, new ChangeEvent(ChangeKind.Written, RelPath.Parse("h"), false, Inode: inode))], T0).Records);
        var removed = c.Process([E(ChangeKind.Deleted, "h")], T0 + TimeSpan.FromMilliseconds(100)).Records;
        Assert.Equal(["Upsert h", "Delete h", "DirMeta ."], removed.Select(r => r.ToString()));
        Assert.Equal(inode, removed[0].Inode);
        // Merged into an earlier record of the same path in the batch, it gives that record the inode.
        var merged = c.Process([E(ChangeKind.Created, "g"), new(0, new ChangeEvent(ChangeKind.Written, RelPath.Parse("g"), false, Inode: inode))], T0).Records;
        Assert.Equal(inode, merged.Single(r => r.Kind == RecordKind.Upsert).Inode);
    }

    [Fact]
    public void OverflowAndRootGone_AreReportedNotQueued()
    {
        var c = new Coalescer();
        var b = c.Process([E(ChangeKind.Overflow, "sub", true), new RootedEvent(1, new ChangeEvent(ChangeKind.RootGone, RelPath.Root, true))], T0);
        Assert.Empty(b.Records);
        Assert.Equal([(0, RelPath.Parse("sub"), (string?)null)], b.Overflows);
        Assert.Equal([1], b.RootsGone);
    }

    [Fact]
    public void Records_RoundTrip()
    {
        var recs = new[]
        {
            new ReplicationRecord(RecordKind.Rename, 2, RelPath.Parse("a/b"), true, RelPath.Parse("c")),
            new ReplicationRecord(RecordKind.DirMeta, 0, RelPath.Root, true),
            new ReplicationRecord(RecordKind.Upsert, 1, RelPath.Parse([0xff, 0x41])),
        };
        foreach (var r in recs)
        {
            Assert.True(ReplicationRecord.TryDecode(r.Encode(), out var back));
            Assert.Equal(r, back);
        }
        Assert.False(ReplicationRecord.TryDecode([9, 0, 0, 0, 0], out _));
        Assert.False(ReplicationRecord.TryDecode([1, 0, 0, 5, 0, 0x61], out _));
    }
}
