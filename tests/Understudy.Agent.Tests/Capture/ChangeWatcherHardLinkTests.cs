using Understudy.Agent.Replication.Capture;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Xunit;

namespace Understudy.Agent.Tests.Capture;

/// <summary>
/// A change made through one name of a multiply linked file, which is then removed, must still say which file it
/// changed (<see cref="ChangeEvent.Inode"/>): the change belongs to the file's other names, and the removed name can
/// no longer tell (docs/architecture.md, "Hard links").
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ChangeWatcherHardLinkTests
{
    [Theory, InotifyData, FanotifyData]
    public async Task LinkedBeforeStart_WriteThroughANameThenRemoveIt_ModifiedCarriesTheInode(string method)
    {
        await using var h = WatchHarness.Start(method, prepare: r =>
        {
            File.WriteAllText(Path.Combine(r, "keep"), "old");
            TestLibc.Link(Path.Combine(r, "keep"), Path.Combine(r, "other"));
        });
        await h.Watcher.Ready;
        var inode = InodeOf(h.Root, "keep");
        File.WriteAllText(h.P("other"), "new content");
        File.Delete(h.P("other"));
        await h.WaitForAsync(e => e.Kind == ChangeKind.Modified && e.Path == RelPath.Parse("other") && e.Inode == inode,
            "Modified other with the inode of keep");
    }

    [Theory, InotifyData, FanotifyData]
    public async Task LinkedAfterStart_ChmodThroughANameThenRemoveIt_AttributesCarryTheInode(string method)
    {
        await using var h = WatchHarness.Start(method);
        await h.Watcher.Ready;
        File.WriteAllText(h.P("a"), "x");
        TestLibc.Link(h.P("a"), h.P("b"));
        // Once the new name is seen. Before that, inotify cannot tell: a link, a change through it and its removal,
        // all before the watcher reads the link's IN_CREATE, stay unknown (docs/architecture.md, "Hard links").
        await h.WaitForAsync(ChangeKind.Created, "b");
        var inode = InodeOf(h.Root, "a");
        File.SetUnixFileMode(h.P("b"), UnixFileMode.UserRead);
        File.Delete(h.P("b"));
        await h.WaitForAsync(e => e.Kind == ChangeKind.Attributes && e.Path == RelPath.Parse("b") && e.Inode == inode,
            "Attributes b with the inode of a");
    }

    [Theory, InotifyData, FanotifyData]
    public async Task Linked_TruncateThroughANameThenRemoveIt_WrittenCarriesTheInode(string method)
    {
        // truncate(2) by path opens nothing: the kernel reports a modification only (no close-write), which the
        // pipeline holds as a write until it settles; by then the name may be gone (convergence seed 2434: the
        // change never reached the file's other name).
        await using var h = WatchHarness.Start(method, prepare: r =>
        {
            File.WriteAllText(Path.Combine(r, "keep"), "old");
            TestLibc.Link(Path.Combine(r, "keep"), Path.Combine(r, "other"));
        });
        await h.Watcher.Ready;
        var inode = InodeOf(h.Root, "keep");
        TestLibc.Truncate(h.P("other"), 10_000);
        File.Delete(h.P("other"));
        await h.WaitForAsync(e => e.Kind == ChangeKind.Written && e.Path == RelPath.Parse("other") && e.Inode == inode,
            "Written other with the inode of keep");
    }

    /// <summary>
    /// A link made and written through before the watcher reads its creation: the write came before inotify's watch on
    /// the file, so only the name's creation can say which file it is (read while the name holds it). The pipeline's own
    /// lookup comes a batch later, when the name may be gone (CaptureHardLinkTests).
    /// </summary>
    [Theory, InotifyData, FanotifyData]
    public async Task LinkMadeAndWrittenThrough_BeforeTheWatcherReads_AnEventOfTheNewNameCarriesTheInode(string method)
    {
        var gate = new TaskCompletionSource();
        await using var h = WatchHarness.Start(method, options: new WatcherOptions { ReadGate = gate.Task },
            prepare: r => File.WriteAllText(Path.Combine(r, "keep"), "old"));
        await h.Watcher.Ready;
        var inode = InodeOf(h.Root, "keep");
        TestLibc.Link(h.P("keep"), h.P("other"));
        File.WriteAllText(h.P("other"), "new content");
        gate.SetResult();
        await h.BarrierAsync();
        var named = h.Snapshot().Where(e => e.Path == RelPath.Parse("other")).ToList();
        Assert.True(named.Exists(e => e.Inode == inode), $"no event of 'other' carries the inode of keep: {string.Join(", ", named)}");
    }

    private static (ulong, ulong) InodeOf(string root, string name)
    {
        using var t = FsTree.Open(root, create: false);
        var st = t.Lstat(RelPath.Parse(name))!.Value;
        return (st.Device, st.Inode);
    }
}
