using Microsoft.Extensions.Logging.Abstractions;
using Understudy.Agent.Events;
using Understudy.Agent.Mirror;
using Understudy.Agent.Peer;
using Understudy.Agent.Replication;
using Understudy.Agent.Source;
using Understudy.Agent.State;
using Understudy.Agent.Tests.Support;
using Understudy.Core.Jobs;
using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Replication;

/// <summary>
/// What a sender carries to the next session's sender (<see cref="ReplicationSender.Memory"/>): the next session
/// replays the records the target had not made durable, and they must send what they sent the first time.
/// </summary>
public sealed class SenderMemoryTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private readonly CancellationTokenSource _cts = new(TimeSpan.FromMinutes(1));
    private readonly LoopbackPeers _peers = new();
    private StateStore? _store;

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir.Sub("data"));
        _store = new StateStore(_dir.Sub("data"));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _peers.DisposeAsync();
        _store?.Dispose();
        _cts.Dispose();
        _dir.Dispose();
    }

    /// <summary>A session to a fake target: the sending side, and the receiving connection the test reads.</summary>
    private Task<(SourceSession Session, PeerConnection Target)> SessionAsync() => _peers.SessionAsync(_cts.Token);

    /// <summary>What the sender sent up to the barrier after it, as "file PATH" and "rename FROM -> TO". A listing the
    /// sender asks for is answered from <paramref name="replica"/> (none: an empty one).</summary>
    private async Task<List<string>> SentAsync(SourceSession session, PeerConnection target, ulong barrier, string? replica = null)
    {
        await session.SendBarrierAsync(barrier, _cts.Token);
        await session.FlushAsync(_cts.Token);
        return await ReceivedAsync(target, barrier, replica);
    }

    /// <summary>What the target receives up to that barrier (started before a send that waits for a listing).</summary>
    private async Task<List<string>> ReceivedAsync(PeerConnection target, ulong barrier, string? replica)
    {
        var ops = new List<string>();
        while (await target.ReceiveAsync(_cts.Token) is { } frame)
        {
            using (frame)
            {
                switch (frame.Message)
                {
                    case Core.Protocol.Barrier b when b.Seq == barrier:
                        return ops;
                    case FileBegin f:
                        ops.Add($"file {f.Path}");
                        break;
                    case RenameOp r:
                        ops.Add($"rename {r.From} -> {r.To}");
                        break;
                    case HardLinkOp l:
                        ops.Add($"link {l.Path} = {l.Existing}");
                        break;
                    case ManifestRequest m:
                        await AnswerManifestAsync(target, m, replica);
                        break;
                }
            }
        }
        return ops;
    }

    private async Task AnswerManifestAsync(PeerConnection target, ManifestRequest m, string? replica)
    {
        var items = new List<ManifestItem>();
        if (replica is not null)
        {
            using var tree = FsTree.Open(replica, create: false);
            if (tree.Lstat(m.Subtree) is not null)
                items.AddRange(ManifestScan.Scan(tree, m.Subtree, m.WithHashes, descend: _ => true, replica: true, withXattrs: m.WithXattrs));
        }
        if (items.Count > 0)
            await target.SendAsync(new ManifestBatch(items), _cts.Token);
        await target.SendAsync(new ManifestEnd(items.Count, null), _cts.Token);
    }

    [Fact]
    public async Task AFileRewrittenKeepingSizeAndMtime_InATreeSkippedUnderItsOldName_IsSentAgainUnderTheNewOne()
    {
        // Fresh convergence seed 593202836 (fanotify): a file in a directory moved into the job was sent (content A),
        // rewritten at the same size with its old mtime put back (content B), and the directory above renamed before the
        // file's Upsert and the moved-in tree's UpsertTree went: both were skipped as gone. The rename then brought the
        // tree to its new name by a difference mirror, which compares size and mtime only: the target kept content A.
        // A file whose own change was skipped must be sent, whatever a size-and-mtime comparison says.
        var src = _dir.Sub("src");
        var replica = _dir.Sub("replica");
        Directory.CreateDirectory(Path.Combine(src, "x", "t"));
        Directory.CreateDirectory(Path.Combine(replica, "x", "t"));
        var f = Path.Combine(src, "x", "t", "f");
        var stale = Path.Combine(replica, "x", "t", "f");
        File.WriteAllText(f, "content B");
        File.WriteAllText(stale, "content A");
        var mtime = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(f, mtime);
        File.SetLastWriteTimeUtc(stale, mtime);
        var job = new JobDefinition("j", [new SourceRoot(src, RelPath.Root)], (_, _) => false, "", "", replica, MirrorMode.Different, false);
        var events = new EventLog(_store!, NullLogger<EventLog>.Instance, TimeProvider.System);

        var (s, t) = await SessionAsync();
        await using (s)
        await using (t)
        {
            using var sender = new ReplicationSender(job, s, events, TimeProvider.System);
            await sender.SendAsync(new ReplicationRecord(RecordKind.Upsert, 0, RelPath.Parse("a/t/f")), 1, _cts.Token);
            await sender.SendAsync(new ReplicationRecord(RecordKind.UpsertTree, 0, RelPath.Parse("a/t"), IsDirectory: true), 2, _cts.Token);
            Assert.Empty(await SentAsync(s, t, 2, replica)); // both gone: a was renamed to x
            var received = Task.Run(() => ReceivedAsync(t, 3, replica)); // the rename's resync asks for a listing
            await sender.SendAsync(new ReplicationRecord(RecordKind.Rename, 0, RelPath.Parse("a"), IsDirectory: true, To: RelPath.Parse("x")), 3, _cts.Token);
            await s.SendBarrierAsync(3, _cts.Token);
            await s.FlushAsync(_cts.Token);
            Assert.Contains("file x/t/f", await received);
        }
    }

    [Fact]
    public async Task AFileChangeSkippedAsGone_StillUnexplained_IsSentByAResyncOfWhereTheFileIsNow()
    {
        // Convergence seed 513 on a loaded machine: the Upsert of a file rewritten at its size with its old mtime put back
        // found its name gone (a directory above it renamed) after the rename that moved it had been sent, so no rename was
        // left to explain it; a resync of the tree the file is in now (the target could not apply something there)
        // compared size and mtime and sent nothing: the target kept the older content.
        var src = _dir.Sub("src");
        var replica = _dir.Sub("replica");
        Directory.CreateDirectory(Path.Combine(src, "x", "t"));
        Directory.CreateDirectory(Path.Combine(replica, "x", "t"));
        var f = Path.Combine(src, "x", "t", "f");
        var stale = Path.Combine(replica, "x", "t", "f");
        File.WriteAllText(f, "content B");
        File.WriteAllText(stale, "content A");
        var mtime = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(f, mtime);
        File.SetLastWriteTimeUtc(stale, mtime);
        var job = new JobDefinition("j", [new SourceRoot(src, RelPath.Root)], (_, _) => false, "", "", replica, MirrorMode.Different, false);
        var events = new EventLog(_store!, NullLogger<EventLog>.Instance, TimeProvider.System);
        long queued = (DateTimeOffset.UtcNow.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;

        var (s, t) = await SessionAsync();
        await using (s)
        await using (t)
        {
            using var sender = new ReplicationSender(job, s, events, TimeProvider.System);
            await sender.SendAsync(new ReplicationRecord(RecordKind.Upsert, 0, RelPath.Parse("a/t/f"), QueuedAtNs: queued), 1, _cts.Token);
            Assert.Empty(await SentAsync(s, t, 1, replica)); // gone: a was renamed to x, by a rename sent before
            var received = Task.Run(() => ReceivedAsync(t, 2, replica));
            await sender.ResyncAsync([(0, RelPath.Parse("x"))], _cts.Token);
            await s.SendBarrierAsync(2, _cts.Token);
            await s.FlushAsync(_cts.Token);
            Assert.Contains("file x/t/f", await received);
        }
    }

    [Fact]
    public async Task AMirror_FirstNameOfAHardLinkReplacedByARename_LinksNoOtherNameToWhatIsThereNow()
    {
        // Convergence seed 600300002 (inotify): a mirror walked two names of one file, then another file was renamed over
        // the first name; the mirror sent that name's content as it is now (the other file) and linked the second name to
        // it: the target's second name held the other file's content, and only a rename of it followed.
        var src = _dir.Sub("src");
        Directory.CreateDirectory(src);
        File.WriteAllText(Path.Combine(src, "h"), "the linked file");
        File.WriteAllText(Path.Combine(src, "other"), "another file, renamed over h");
        var job = new JobDefinition("j", [new SourceRoot(src, RelPath.Root)], (_, _) => false, "", "", _dir.Sub("replica"), MirrorMode.Different, false);
        var events = new EventLog(_store!, NullLogger<EventLog>.Instance, TimeProvider.System);
        using var tree = FsTree.Open(src, create: false);
        tree.HardLink(RelPath.Parse("h"), RelPath.Parse("f"));
        FileEntry Walked(string name)
        {
            var st = tree.Lstat(RelPath.Parse(name))!.Value;
            return new FileEntry(RelPath.Parse(name), EntryKind.File, st.Mode, st.Uid, st.Gid, st.Size, st.MtimeNs, null, st.Inode, st.Device, st.LinkCount);
        }
        var h = Walked("h");
        var f = Walked("f");
        File.Move(Path.Combine(src, "other"), Path.Combine(src, "h"), overwrite: true); // after the walk

        var (s, t) = await SessionAsync();
        await using (s)
        await using (t)
        {
            var engine = new MirrorEngine(job, s, events, new MirrorProgress(MirrorMode.Different, TimeProvider.System));
            await engine.SendFileAsync(tree, h, RelPath.Parse("h"), _cts.Token);
            await engine.LinkAsync(tree, f, RelPath.Parse("f"), RelPath.Parse("h"), _cts.Token);
            Assert.Equal(["file h", "file f"], await SentAsync(s, t, 1));
        }
    }

    [Fact]
    public async Task ARenameReplayedAfterTheTargetDied_SendsAgainTheFileItCarriedToItsNewName()
    {
        // Convergence seed 3092: a file made in a directory that was renamed before the file's Upsert was sent. The Upsert
        // found nothing (the name was gone) and was noted; the directory's rename then sent the file under the new name.
        // The target died after making the Upsert durable but before the rename: the next session replays only the
        // rename, which must send the file again — the first sender had crossed it off its list of skipped records.
        var src = _dir.Sub("src");
        Directory.CreateDirectory(Path.Combine(src, "b"));
        File.WriteAllText(Path.Combine(src, "b", "f"), "content");
        var job = new JobDefinition("j", [new SourceRoot(src, RelPath.Root)], (_, _) => false, "", "", _dir.Sub("replica"), MirrorMode.Different, false);
        var events = new EventLog(_store!, NullLogger<EventLog>.Instance, TimeProvider.System);
        var upsert = new ReplicationRecord(RecordKind.Upsert, 0, RelPath.Parse("a/f"));
        var rename = new ReplicationRecord(RecordKind.Rename, 0, RelPath.Parse("a"), IsDirectory: true, To: RelPath.Parse("b"));

        ReplicationSender.Memory memory;
        var (s1, t1) = await SessionAsync();
        await using (s1)
        await using (t1)
        {
            using var first = new ReplicationSender(job, s1, events, TimeProvider.System);
            await first.SendAsync(upsert, 1, _cts.Token);
            Assert.Empty(await SentAsync(s1, t1, 1));
            first.Acknowledged(1); // the next session starts after it
            await first.SendAsync(rename, 2, _cts.Token);
            Assert.Equal(["rename a -> b", "file b/f"], await SentAsync(s1, t1, 2)); // never acknowledged: the target died
            memory = first.Remembered();
        }


        var (s2, t2) = await SessionAsync();
        await using (s2)
        await using (t2)
        {
            using var next = new ReplicationSender(job, s2, events, TimeProvider.System);
            next.Inherit(memory);
            await next.SendAsync(rename, 2, _cts.Token);
            Assert.Equal(["rename a -> b", "file b/f"], await SentAsync(s2, t2, 2));
        }
    }

    [Fact]
    public async Task ARenameAcknowledged_IsNotSentAgainByTheNextSession()
    {
        // The other side of the test above: once the target has the rename, what it re-sent is not carried on (a rename
        // of the directory in a later session would send the file once more for nothing).
        var src = _dir.Sub("src");
        Directory.CreateDirectory(Path.Combine(src, "c"));
        File.WriteAllText(Path.Combine(src, "c", "f"), "content");
        var job = new JobDefinition("j", [new SourceRoot(src, RelPath.Root)], (_, _) => false, "", "", _dir.Sub("replica"), MirrorMode.Different, false);
        var events = new EventLog(_store!, NullLogger<EventLog>.Instance, TimeProvider.System);

        ReplicationSender.Memory memory;
        var (s1, t1) = await SessionAsync();
        await using (s1)
        await using (t1)
        {
            using var first = new ReplicationSender(job, s1, events, TimeProvider.System);
            await first.SendAsync(new ReplicationRecord(RecordKind.Upsert, 0, RelPath.Parse("a/f")), 1, _cts.Token);
            await first.SendAsync(new ReplicationRecord(RecordKind.Rename, 0, RelPath.Parse("a"), IsDirectory: true, To: RelPath.Parse("b")), 2, _cts.Token);
            Assert.Equal(["rename a -> b"], await SentAsync(s1, t1, 2)); // b is gone too (renamed to c): b/f noted
            await first.SendAsync(new ReplicationRecord(RecordKind.Rename, 0, RelPath.Parse("b"), IsDirectory: true, To: RelPath.Parse("c")), 3, _cts.Token);
            Assert.Equal(["rename b -> c", "file c/f"], await SentAsync(s1, t1, 3));
            first.Acknowledged(3);
            memory = first.Remembered();
        }
        Assert.Empty(memory.Gone);
    }

    [Fact]
    public async Task ASubdirectoryMovedOutOfATreeSkippedAsGone_IsSentAsItIsUnderItsNewName()
    {
        // ChurnTests seed 3001: a tree moved in from outside was renamed before its UpsertTree went (skipped as gone, owed
        // under the new name); a queued rename into it made a stub of one of its subdirectories on the target (the
        // target makes missing parents), and that subdirectory was moved out of the tree before the tree's last rename:
        // the rename carried the stub, and the tree's resync under its final name no longer held the subdirectory.
        // Its own files were missing for good while wait said idle.
        var src = _dir.Sub("src");
        var replica = _dir.Sub("replica");
        foreach (var d in new[] { "away/x", "t3" })
            Directory.CreateDirectory(Path.Combine(src, d));
        File.WriteAllText(Path.Combine(src, "away/f1"), "one");
        File.WriteAllText(Path.Combine(src, "away/x/kept"), "kept");
        File.WriteAllText(Path.Combine(src, "t3/top"), "top");
        Directory.CreateDirectory(Path.Combine(replica, "x"));
        File.WriteAllText(Path.Combine(replica, "x/kept"), "kept");
        var job = new JobDefinition("j", [new SourceRoot(src, RelPath.Root)], (_, _) => false, "", "", replica, MirrorMode.Different, false);
        var events = new EventLog(_store!, NullLogger<EventLog>.Instance, TimeProvider.System);
        ReplicationRecord Rename(string from, string to) => new(RecordKind.Rename, 0, RelPath.Parse(from), IsDirectory: true, To: RelPath.Parse(to));

        var (s, t) = await SessionAsync();
        await using (s)
        await using (t)
        {
            using var sender = new ReplicationSender(job, s, events, TimeProvider.System);
            var received = Task.Run(() => ReceivedAsync(t, 9, replica)); // the tree's resync under t3 asks for a listing
            await sender.SendAsync(new ReplicationRecord(RecordKind.UpsertTree, 0, RelPath.Parse("in"), IsDirectory: true), 1, _cts.Token);
            await sender.SendAsync(Rename("x", "in/sub/x"), 2, _cts.Token);
            await sender.SendAsync(Rename("in", "t2"), 3, _cts.Token);
            await sender.SendAsync(Rename("t2/sub", "away"), 4, _cts.Token);
            await sender.SendAsync(Rename("t2", "t3"), 5, _cts.Token);
            await s.SendBarrierAsync(9, _cts.Token);
            await s.FlushAsync(_cts.Token);
            var ops = await received;
            Assert.Contains("file away/f1", ops);
            Assert.Contains("file t3/top", ops);
        }
    }
}
