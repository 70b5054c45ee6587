using Understudy.Agent.Replication.Capture;
using Understudy.Core.Paths;
using Xunit;

namespace Understudy.Agent.Tests.Capture;

/// <summary>The failures other tools are known for: races with new directories, bursts, exclusions, renames, shutdown.</summary>
public sealed class ChangeWatcherRobustnessTests
{
    [Theory, InotifyData, FanotifyData]
    public async Task MkdirP_ThenWriteImmediately_NeverMissed(string method)
    {
        await using var h = WatchHarness.Start(method);
        await h.Watcher.Ready;
        for (int i = 0; i < 20; i++)
        {
            var dir = h.P($"t{i}/b/c");
            Directory.CreateDirectory(dir);
            await File.WriteAllTextAsync(Path.Combine(dir, "f"), "x");
        }
        var want = Enumerable.Range(0, 20).Select(i => RelPath.Parse($"t{i}/b/c/f")).ToHashSet();
        await h.WaitUntilAsync(s =>
        {
            var seen = s.Where(e => e.Kind is ChangeKind.Created or ChangeKind.Modified).Select(e => e.Path).ToHashSet();
            return want.IsSubsetOf(seen);
        }, "all 20 files written right after mkdir -p");
        Assert.DoesNotContain(h.Snapshot(), e => e.Kind == ChangeKind.Overflow);
    }

    [Theory, InotifyData, FanotifyData]
    public async Task Burst_OfThousandFiles_AllReported(string method)
    {
        await using var h = WatchHarness.Start(method);
        await h.Watcher.Ready;
        Directory.CreateDirectory(h.P("burst"));
        for (int i = 0; i < 1000; i++)
            await File.WriteAllTextAsync(h.P($"burst/f{i:D4}"), "x");
        await h.WaitUntilAsync(s =>
        {
            // Created suffices: files written before the new directory's watch was placed are found by its listing.
            int n = s.Where(e => e.Kind is ChangeKind.Created or ChangeKind.Modified && e.Path.Parent == RelPath.Parse("burst")).Select(e => e.Path).Distinct().Count();
            return n == 1000 || s.Any(e => e.Kind == ChangeKind.Overflow);
        }, "1000 files closed after writing");
        Assert.DoesNotContain(h.Snapshot(), e => e.Kind == ChangeKind.Overflow);
    }

    [Theory, InotifyData, FanotifyData]
    public async Task ExcludedSubtree_ProducesNothing(string method)
    {
        var ex = RelPath.Parse("skip");
        await using var h = WatchHarness.Start(method, p => p == ex, prepare: r => Directory.CreateDirectory(Path.Combine(r, "skip/old")));
        await h.Watcher.Ready;
        Directory.CreateDirectory(h.P("skip/new/deeper"));
        await File.WriteAllTextAsync(h.P("skip/f"), "x");
        await File.WriteAllTextAsync(h.P("skip/old/f"), "x");
        await File.WriteAllTextAsync(h.P("skip/new/deeper/f"), "x");
        await h.BarrierAsync();
        Assert.DoesNotContain(h.Snapshot(), e => e.Path.IsUnder(ex));
        if (h.Watcher.Method == "inotify")
            Assert.Equal(1, h.Watcher.Progress.DirectoriesWatched);
    }

    [Theory, InotifyData, FanotifyData]
    public async Task DirectoryRenamed_LaterChangesUseNewName(string method)
    {
        await using var h = WatchHarness.Start(method, prepare: r => Directory.CreateDirectory(Path.Combine(r, "old/sub")));
        await h.Watcher.Ready;
        Directory.Move(h.P("old"), h.P("new"));
        await h.WaitForAsync(ChangeKind.MovedTo, "new");
        await File.WriteAllTextAsync(h.P("new/sub/f"), "x");
        await h.WaitForAsync(ChangeKind.Modified, "new/sub/f");
        Assert.DoesNotContain(h.Snapshot(), e => e.Path.IsUnder(RelPath.Parse("old/sub")));
    }

    [Theory, InotifyData, FanotifyData]
    public async Task DirectoryTreeMovedIn_IsWatched_AndMovedOut_IsForgotten(string method)
    {
        await using var h = WatchHarness.Start(method);
        await h.Watcher.Ready;
        var tree = Path.Combine(h.Outside, "tree");
        Directory.CreateDirectory(Path.Combine(tree, "x/y"));
        await File.WriteAllTextAsync(Path.Combine(tree, "x/y/existing"), "x");
        Directory.Move(tree, h.P("tree"));
        await h.WaitForAsync(ChangeKind.MovedTo, "tree");
        await File.WriteAllTextAsync(h.P("tree/x/y/later"), "x");
        await h.WaitForAsync(ChangeKind.Modified, "tree/x/y/later");
        Directory.Move(h.P("tree"), Path.Combine(h.Outside, "back"));
        await h.WaitForAsync(ChangeKind.MovedFrom, "tree");
        await h.BarrierAsync("b1");
        int before = h.Snapshot().Length;
        await File.WriteAllTextAsync(Path.Combine(h.Outside, "back/x/y/outside"), "x");
        await h.BarrierAsync("b2");
        Assert.DoesNotContain(h.Snapshot().Skip(before), e => e.Path.Name.SequenceEqual("outside"u8));
    }

    [Theory, InotifyData, FanotifyData]
    public async Task RootDeleted_ReportsRootGone(string method)
    {
        await using var h = WatchHarness.Start(method);
        await h.Watcher.Ready;
        Directory.Delete(h.Root);
        await h.WaitForAsync(e => e.Kind == ChangeKind.RootGone, "RootGone");
    }

    [Theory, InotifyData, FanotifyData]
    public async Task DisposeAsync_ReturnsPromptly_AndCompletesEvents(string method)
    {
        var h = WatchHarness.Start(method);
        await h.Watcher.Ready;
        var dispose = h.DisposeAsync().AsTask();
        // A generous bound that only a hang misses; not a speed assertion.
        Assert.Same(dispose, await Task.WhenAny(dispose, Task.Delay(TimeSpan.FromSeconds(10))));
        await dispose;
        Assert.True(h.Watcher.Events.Completion.IsCompleted);
    }

    [Fact]
    public async Task Inotify_InitialSetup_WatchesWholeTree_AndReportsProgress()
    {
        await using var h = WatchHarness.Start(nameof(WatcherMethod.Inotify), options: new WatcherOptions { SetupBatchSize = 7 }, prepare: r =>
        {
            for (int i = 0; i < 30; i++)
                Directory.CreateDirectory(Path.Combine(r, $"d{i}/e/f"));
        });
        await h.Watcher.Ready.WaitAsync(WatchHarness.Deadline);
        var p = h.Watcher.Progress;
        Assert.True(p.IsReady);
        Assert.Equal(91, p.DirectoriesWatched);
        Assert.Equal(91, p.DirectoriesSeen);
        Assert.Null(p.LastError);
        await File.WriteAllTextAsync(h.P("d29/e/f/deep"), "x");
        await h.WaitForAsync(ChangeKind.Modified, "d29/e/f/deep");
    }

    /// <summary>
    /// inotify lists a directory new to it after the read that reported it, a setup step at a time, and what the listing
    /// finds is published then: until it is, the watcher is neither settled nor quiet (`idle` and the capture point
    /// rely on that, and so do the tests' barriers).
    /// </summary>
    [Fact]
    public async Task Inotify_TreeMovedIn_NotQuietUntilWhatItHoldsIsReported()
    {
        await using var h = WatchHarness.StartUnread(nameof(WatcherMethod.Inotify), new WatcherOptions { SetupBatchSize = 1 });
        await h.Watcher.Ready;
        const int dirs = 300;
        var tree = Path.Combine(h.Outside, "tree");
        for (int i = 0; i < dirs; i++)
        {
            Directory.CreateDirectory(Path.Combine(tree, $"d{i}"));
            await File.WriteAllTextAsync(Path.Combine(tree, $"d{i}/f"), "x");
        }
        Directory.Move(tree, h.P("tree"));

        var files = new HashSet<RelPath>();
        void Drain() => files.UnionWith(h.DrainNow().Where(e => e.Kind == ChangeKind.Created && !e.IsDirectory).Select(e => e.Path));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            // Read as a consumer does: whenever the watcher says nothing is on its way, everything must have arrived.
            Drain();
            bool quiet = h.Watcher.Quiet;
            Drain();
            if (quiet && files.Count > 0)
                break;
            Assert.True(sw.Elapsed < WatchHarness.Deadline, $"{files.Count} of {dirs} files reported, and never quiet");
            await Task.Yield();
        }
        Assert.True(files.Count == dirs, $"quiet with {files.Count} of the {dirs} files in the moved-in tree reported");
    }

    [Theory, InotifyData, FanotifyData]
    public async Task ConsumerLag_FullChannel_ReportsOverflowInsteadOfBlocking(string method)
    {
        await using var h = WatchHarness.StartUnread(method, new WatcherOptions { ChannelCapacity = 8, ReportWrites = false });
        await h.Watcher.Ready;
        for (int i = 0; i < 50; i++)
            await File.WriteAllTextAsync(h.P($"f{i}"), "x");
        // Nobody reads: the channel fills with 7 events and the one overflow marker kept for this, then stays full.
        await WatchHarness.PollAsync(() => h.Watcher.Events.Count == 8, "a full channel");
        var events = h.DrainNow();
        Assert.Equal(ChangeKind.Overflow, events[^1].Kind);
        Assert.True(events[^1].Path.IsRoot);
        Assert.Single(events, e => e.Kind == ChangeKind.Overflow);
        // Once read, the channel carries events again. The reader may still be working through the
        // backlog (each time the channel is full again an overflow stands for it), so keep writing.
        var seen = new List<ChangeEvent>();
        int written = 0;
        await WatchHarness.PollAsync(() =>
        {
            seen.AddRange(h.DrainNow());
            if (seen.Exists(e => e.Kind == ChangeKind.Modified && e.Path.Name.StartsWith("after"u8)))
                return true;
            File.WriteAllText(h.P($"after{written++}"), "x");
            return false;
        }, "events after the overflow", () => string.Join(", ", seen));
    }
}
