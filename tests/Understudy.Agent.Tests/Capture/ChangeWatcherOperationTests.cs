using Understudy.Agent.Replication.Capture;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Xunit;

namespace Understudy.Agent.Tests.Capture;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
/// <summary>Each kind of change under the root produces the expected events, with both methods.</summary>
public sealed class ChangeWatcherOperationTests
{
    [Theory, InotifyData, FanotifyData]
    public async Task CreateWrite_ReportsCreatedThenModified(string method)
    {
        await using var h = WatchHarness.Start(method);
        await h.Watcher.Ready;
        await File.WriteAllTextAsync(h.P("f.txt"), "hello");
        await h.WaitForAsync(ChangeKind.Modified, "f.txt");
        var s = h.Snapshot();
        int created = Array.FindIndex(s, e => e.Kind == ChangeKind.Created && e.Path == RelPath.Parse("f.txt") && !e.IsDirectory);
        int modified = Array.FindIndex(s, e => e.Kind == ChangeKind.Modified && e.Path == RelPath.Parse("f.txt"));
        Assert.InRange(created, 0, modified);
        Assert.Equal(h.Watcher.Method, method.ToLowerInvariant());
    }

    [Theory, InotifyData, FanotifyData]
    public async Task AppendAndTruncate_ReportModified(string method)
    {
        await using var h = WatchHarness.Start(method, prepare: r => File.WriteAllText(Path.Combine(r, "f"), "data"));
        await h.Watcher.Ready;
        await File.AppendAllTextAsync(h.P("f"), "more");
        await h.WaitForAsync(ChangeKind.Modified, "f", "append");
        await h.BarrierAsync("b1");
        using (var fs = new FileStream(h.P("f"), FileMode.Open, FileAccess.Write))
            fs.SetLength(1);
        var f = RelPath.Parse("f");
        await h.WaitUntilAsync(s => s.Count(e => e.Kind == ChangeKind.Modified && e.Path == f) >= 2, "ftruncate + close");
        // truncate(2) by path never closes a file: only the write report (IN_MODIFY / FAN_MODIFY) shows it.
        TestLibc.Truncate(h.P("f"), 0);
        await h.WaitForAsync(ChangeKind.Written, "f", "truncate(2)");
    }

    [Theory, InotifyData, FanotifyData]
    public async Task RenameWithinRoot_ReportsPairedMove(string method)
    {
        await using var h = WatchHarness.Start(method, prepare: r => File.WriteAllText(Path.Combine(r, "a"), "x"));
        await h.Watcher.Ready;
        File.Move(h.P("a"), h.P("b"));
        var from = await h.WaitForAsync(ChangeKind.MovedFrom, "a");
        var to = await h.WaitForAsync(ChangeKind.MovedTo, "b");
        Assert.NotEqual(0u, from.Cookie);
        Assert.Equal(from.Cookie, to.Cookie);
    }

    [Theory, InotifyData, FanotifyData]
    public async Task MoveIntoAndOutOfRoot_ReportsUnpairedMoves(string method)
    {
        await using var h = WatchHarness.Start(method);
        await h.Watcher.Ready;
        var outsideFile = Path.Combine(h.Outside, "in.txt");
        await File.WriteAllTextAsync(outsideFile, "x");
        File.Move(outsideFile, h.P("in.txt"));
        var to = await h.WaitForAsync(ChangeKind.MovedTo, "in.txt");
        File.Move(h.P("in.txt"), Path.Combine(h.Outside, "out.txt"));
        var from = await h.WaitForAsync(ChangeKind.MovedFrom, "in.txt");
        await h.BarrierAsync();
        Assert.DoesNotContain(h.Snapshot(), e => e.Kind == ChangeKind.MovedTo && e.Cookie == from.Cookie && e.Cookie != 0);
        Assert.DoesNotContain(h.Snapshot(), e => e.Kind == ChangeKind.MovedFrom && e.Cookie == to.Cookie && e.Cookie != 0);
    }

    [Theory, InotifyData, FanotifyData]
    public async Task DeleteFile_ReportsDeleted(string method)
    {
        await using var h = WatchHarness.Start(method, prepare: r => File.WriteAllText(Path.Combine(r, "gone"), "x"));
        await h.Watcher.Ready;
        File.Delete(h.P("gone"));
        var e = await h.WaitForAsync(ChangeKind.Deleted, "gone");
        Assert.False(e.IsDirectory);
    }

    [Theory, InotifyData, FanotifyData]
    public async Task MkdirRmdir_ReportDirectoryEvents(string method)
    {
        await using var h = WatchHarness.Start(method);
        await h.Watcher.Ready;
        Directory.CreateDirectory(h.P("d"));
        Assert.True((await h.WaitForAsync(ChangeKind.Created, "d")).IsDirectory);
        Directory.Delete(h.P("d"));
        Assert.True((await h.WaitForAsync(ChangeKind.Deleted, "d")).IsDirectory);
    }

    [Theory, InotifyData, FanotifyData]
    public async Task Chmod_ReportsAttributes(string method)
    {
        await using var h = WatchHarness.Start(method, prepare: r =>
        {
            File.WriteAllText(Path.Combine(r, "f"), "x");
            Directory.CreateDirectory(Path.Combine(r, "d"));
        });
        await h.Watcher.Ready;
        File.SetUnixFileMode(h.P("f"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await h.WaitForAsync(ChangeKind.Attributes, "f");
        File.SetUnixFileMode(h.P("d"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Assert.True((await h.WaitForAsync(ChangeKind.Attributes, "d")).IsDirectory);
    }

    [Theory, InotifyData, FanotifyData]
    public async Task Symlink_ReportsCreated(string method)
    {
        await using var h = WatchHarness.Start(method);
        await h.Watcher.Ready;
        File.CreateSymbolicLink(h.P("link"), "/nonexistent/target");
        Assert.False((await h.WaitForAsync(ChangeKind.Created, "link")).IsDirectory);
    }

    [Theory, InotifyData, FanotifyData]
    public async Task HardLink_ReportsCreated(string method)
    {
        await using var h = WatchHarness.Start(method, prepare: r => File.WriteAllText(Path.Combine(r, "orig"), "x"));
        await h.Watcher.Ready;
        TestLibc.Link(h.P("orig"), h.P("second"));
        await h.WaitForAsync(ChangeKind.Created, "second");
    }

    [Theory, InotifyData, FanotifyData]
    public async Task SetXattr_ReportsAttributes(string method)
    {
        await using var h = WatchHarness.Start(method, prepare: r => File.WriteAllText(Path.Combine(r, "f"), "x"));
        await h.Watcher.Ready;
        TestLibc.SetXattr(h.P("f"), "user.understudy", "v1");
        await h.WaitForAsync(ChangeKind.Attributes, "f");
    }

    [Theory, InotifyData, FanotifyData]
    public async Task InvalidUtf8Name_ReportedAsRawBytes(string method)
    {
        await using var h = WatchHarness.Start(method);
        await h.Watcher.Ready;
        byte[] name = [(byte)'b', 0xff, 0xfe, (byte)'x'];
        CreateRaw(h.Root, name);
        var expected = RelPath.Parse(name);
        await h.WaitForAsync(e => e.Kind == ChangeKind.Created && e.Path == expected, "created with invalid UTF-8 name");
    }

    private static unsafe void CreateRaw(string root, byte[] name)
    {
        var path = new List<byte>(System.Text.Encoding.UTF8.GetBytes(root)) { (byte)'/' };
        path.AddRange(name);
        path.Add(0);
        var p = path.ToArray();
        fixed (byte* pp = p)
        {
            int fd = Libc.open(pp, 0x41 /* O_WRONLY|O_CREAT */ | Libc.O_CLOEXEC, 0x1A4 /* 0644 */);
            Assert.True(fd >= 0);
            Libc.close(fd);
        }
    }
}
