using Understudy.Agent.Replication;
using Understudy.Agent.Replication.Capture;
using Understudy.Agent.Source;
using Understudy.Core.Jobs;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Queue;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Replication;

/// <summary>
/// The record of a change made through a new name of a file must say which file it changed (its inode) even when that
/// name is removed before the record is queued: the change belongs to the file's other names (docs/architecture.md,
/// "Hard links"). The queueing looks the inode up only when the name still holds the file.
/// </summary>
public sealed class CaptureHardLinkTests
{
    [Theory]
    [InlineData("inotify")]
    [InlineData("auto")]
    public async Task LinkMadeAndWrittenThrough_NameRemovedBeforeTheBatch_TheUpsertCarriesTheInode(string capture)
    {
        using var dir = new TempDir();
        var root = dir.Sub("root");
        Directory.CreateDirectory(root);
        File.WriteAllText(Path.Combine(root, "keep"), "old");
        var job = new JobDefinition("j", [new SourceRoot(root, RelPath.Root)], (_, _) => false, "", "", "", MirrorMode.Different, false);
        using var log = SegmentLog.Open(dir.Sub("queue"));
        var read = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var batch = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var pipeline = new CapturePipeline(job, log, TimeSpan.FromMilliseconds(20), TimeProvider.System)
        {
            WatcherOptions = WatcherOptions.Default with { Prefer = Enum.Parse<WatcherMethod>(capture, ignoreCase: true), ReadGate = read.Task },
            BatchGate = batch.Task,
        };
        pipeline.Start();
        await Wait.UntilAsync(() => pipeline.Progress.Count == 1 && pipeline.Progress[0].IsReady, TimeSpan.FromSeconds(30), "the watcher set up");
        (ulong, ulong) inode;
        using (var t = FsTree.Open(root, create: false))
            inode = t.Lstat(RelPath.Parse("keep")) is { } st ? (st.Device, st.Inode) : default;

        // Made and written through before the watcher reads: with inotify the write comes before any watch on the file.
        Capture.TestLibc.Link(Path.Combine(root, "keep"), Path.Combine(root, "other"));
        File.WriteAllText(Path.Combine(root, "other"), "new content");
        read.SetResult();
        // Read (the name held the file then), waiting in the pipeline's channel: the name goes before the batch is made.
        await Wait.UntilAsync(() => pipeline.WatchersQuiet && pipeline.Backlog >= 2, TimeSpan.FromSeconds(30), "the watcher to read the link");
        File.Delete(Path.Combine(root, "other"));
        batch.SetResult();
        await Wait.UntilAsync(() => pipeline.WatchersQuiet && pipeline.PendingEvents == 0, TimeSpan.FromSeconds(30), "the pipeline to drain");

        var records = new List<ReplicationRecord>();
        foreach (var rec in log.ReadFrom(1))
        {
            if (ReplicationRecord.TryDecode(rec.Payload.Span, out var r))
                records.Add(r);
        }
        Assert.True(records.Exists(r => r.Kind == RecordKind.Upsert && r.Path == RelPath.Parse("other") && r.Inode == inode),
            $"no Upsert of 'other' with the inode of keep: {string.Join(", ", records.Select(r => $"{r.Kind} {r.Path}{(r.Inode is { } i ? $" inode {i.Item2}" : "")}"))}");
    }
}
