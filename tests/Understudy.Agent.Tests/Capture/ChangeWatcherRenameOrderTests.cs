using Understudy.Agent.Replication.Capture;
using Understudy.Core.Paths;
using Xunit;

namespace Understudy.Agent.Tests.Capture;

/// <summary>
/// Events read after a directory was renamed must still replay in order: a consumer that applies them one by
/// one to a copy of the tree (as the target does) must end with the tree as it is. fanotify names an event
/// by resolving its directory's handle when the event is read, so a change made in a directory just before
/// the directory is renamed is read under the new name, ahead of the rename itself.
/// </summary>
public sealed class ChangeWatcherRenameOrderTests
{
    [Theory, InotifyData, FanotifyData]
    public async Task ChangesInDirectory_ThenDirectoryRenamed_ReadLater_ReplayToTheSameTree(string method)
    {
        var gate = new TaskCompletionSource();
        await using var h = WatchHarness.Start(method, options: new WatcherOptions { ReadGate = gate.Task }, prepare: r =>
        {
            Directory.CreateDirectory(Path.Combine(r, "d/sub"));
            File.WriteAllText(Path.Combine(r, "d/old"), "x");
            File.WriteAllText(Path.Combine(r, "d/sub/f"), "x");
            File.WriteAllText(Path.Combine(r, "d/gone"), "x");
            Directory.CreateDirectory(Path.Combine(r, "other"));
        });
        await h.Watcher.Ready;
        var model = new TreeModel(h.Root);

        // Not read until the gate opens: by then every directory handle resolves to the final names.
        await File.WriteAllTextAsync(h.P("d/x"), "new");
        Rename(h.P("d/old"), h.P("d/new"));
        File.Delete(h.P("d/gone"));
        await File.WriteAllTextAsync(h.P("d/sub/g"), "new");
        Rename(h.P("d/sub/f"), h.P("other/f"));
        Directory.CreateDirectory(h.P("d/sub2"));
        Rename(h.P("d"), h.P("e"));
        Rename(h.P("e/sub"), h.P("other/sub"));
        await File.WriteAllTextAsync(h.P("e/after"), "after");
        gate.SetResult();
        await h.BarrierAsync();

        model.Apply(h.Snapshot());
        Assert.Equal(TreeModel.List(h.Root), model.Paths.Where(p => p != ".").Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// A directory renamed into a directory made just before (not watched yet, so no IN_MOVED_TO is queued), then
    /// changed at its new place before the watcher reads: the events of the moved tree's own watches must not come out
    /// under its old name after the unpaired IN_MOVED_FROM said it was gone (convergence seed 507199827, inotify: a
    /// rename into the moved tree came out under the old name, and the target made the old name's directories again).
    /// </summary>
    [Theory, InotifyData, FanotifyData]
    public async Task DirectoryRenamedIntoANewDirectory_ThenChangedInside_ReadLater_NothingUnderTheOldName(string method)
    {
        var gate = new TaskCompletionSource();
        await using var h = WatchHarness.Start(method, options: new WatcherOptions { ReadGate = gate.Task }, prepare: r =>
        {
            Directory.CreateDirectory(Path.Combine(r, "d/sub"));
            File.WriteAllText(Path.Combine(r, "d/sub/old"), "x");
            Directory.CreateDirectory(Path.Combine(r, "other/moving"));
        });
        await h.Watcher.Ready;
        var model = new TreeModel(h.Root);

        Directory.CreateDirectory(h.P("n"));
        Rename(h.P("d"), h.P("n/d2"));
        await File.WriteAllTextAsync(h.P("n/d2/sub/f"), "new");
        Rename(h.P("other/moving"), h.P("n/d2/sub/moved"));
        Directory.CreateDirectory(h.P("n/d2/sub/made"));
        gate.SetResult();
        await h.BarrierAsync();

        var events = h.Snapshot();
        model.Apply(events);
        var replayed = model.Paths.Where(p => p != ".").Order(StringComparer.Ordinal).ToList();
        Assert.True(TreeModel.List(h.Root).SequenceEqual(replayed),
            $"the events replay to: {string.Join(", ", replayed)}\nevents:\n{string.Join("\n", events)}");
    }

    /// <summary>
    /// Renames back and forth before the watcher reads them: fanotify merges a rename into an identical one
    /// still unread (the third "mv A B" into the first), so its events may say A where the disk says B. That must
    /// not pass silently: either the events replay to the tree as it is, or an overflow asks for a rescan.
    /// </summary>
    [Theory, InotifyData, FanotifyData]
    public async Task RenameStorm_FilesAndTheirDirectory_ReplayToTheSameTreeOrOverflow(string method)
    {
        var gate = new TaskCompletionSource();
        await using var h = WatchHarness.Start(method, options: new WatcherOptions { ReadGate = gate.Task }, prepare: r =>
        {
            Directory.CreateDirectory(Path.Combine(r, "moving"));
            for (int i = 0; i < 20; i++)
                File.WriteAllText(Path.Combine(r, $"moving/f{i}"), "x");
        });
        await h.Watcher.Ready;
        var model = new TreeModel(h.Root);
        var dir = "moving";
        for (int round = 0; round < 7; round++)
        {
            for (int i = 0; i < 20; i++)
            {
                var (from, to) = round % 2 == 0 ? ($"f{i}", $"g{i}") : ($"g{i}", $"f{i}");
                Rename(h.P($"{dir}/{from}"), h.P($"{dir}/{to}"));
            }
            var next = dir == "moving" ? "moved" : "moving";
            Rename(h.P(dir), h.P(next));
            dir = next;
            if (round == 3)
                gate.SetResult(); // some rounds read while others happen
        }
        await h.BarrierAsync();
        // The merge check ends when the queue is seen quiet; other writers on the filesystem can delay that past the
        // barrier, and its overflow then comes after it.
        await Understudy.Testing.Wait.UntilAsync(() => h.Watcher.Settled, TimeSpan.FromSeconds(30), "the watcher to finish its checks");

        var events = h.Snapshot();
        if (model.Apply(events, stopAtOverflow: true))
            return;
        Assert.True(TreeModel.List(h.Root).SequenceEqual(model.Paths.Where(p => p != ".").Order(StringComparer.Ordinal)),
            $"no overflow, and the events replay to: {string.Join(", ", model.Paths.Order(StringComparer.Ordinal))}\nevents:\n{string.Join("\n", events)}");
    }

    private static void Rename(string from, string to) => TestLibc.Rename(from, to);

    /// <summary>The set of paths below a root, changed by events as a replica would be.</summary>
    private sealed class TreeModel
    {
        private readonly string _root;

        public TreeModel(string root)
        {
            _root = root;
            Paths = [".", .. List(root)];
        }

        public HashSet<string> Paths { get; }

        public static List<string> List(string root) =>
            [.. Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(root, p)).Order(StringComparer.Ordinal)];

        /// <summary>Replays the events; true when it met an overflow (and <paramref name="stopAtOverflow"/>): a rescan would follow.</summary>
        public bool Apply(IReadOnlyList<ChangeEvent> events, bool stopAtOverflow = false)
        {
            for (int i = 0; i < events.Count; i++)
            {
                var e = events[i];
                var p = e.Path.ToString();
                switch (e.Kind)
                {
                    case ChangeKind.Created:
                        Assert.True(Paths.Contains(Parent(p)), $"#{i} {e}: its directory is not there");
                        Paths.Add(p);
                        break;
                    case ChangeKind.Modified or ChangeKind.Attributes or ChangeKind.Written:
                        Assert.True(Paths.Contains(p) || e.Path.IsRoot, $"#{i} {e}: not there to change");
                        break;
                    case ChangeKind.Deleted:
                        RemoveTree(p);
                        break;
                    case ChangeKind.MovedFrom:
                        int pair = e.Cookie == 0 ? -1 : FindPair(events, i, e.Cookie);
                        Assert.True(Paths.Contains(p), $"#{i} {e}: not there to move");
                        if (pair < 0)
                        {
                            RemoveTree(p);
                            break;
                        }
                        var to = events[pair].Path.ToString();
                        RemoveTree(to);
                        foreach (var q in Paths.Where(q => q == p || q.StartsWith(p + "/", StringComparison.Ordinal)).ToList())
                        {
                            Paths.Remove(q);
                            Paths.Add(to + q[p.Length..]);
                        }
                        events = [.. events.Where((_, j) => j != pair)];
                        break;
                    case ChangeKind.MovedTo:
                        Paths.Add(p);
                        foreach (var q in List(Path.Combine(_root, p)))
                            Paths.Add(p + "/" + q);
                        break;
                    case ChangeKind.Overflow when stopAtOverflow:
                        return true;
                    case ChangeKind.Overflow or ChangeKind.RootGone:
                        Assert.Fail($"#{i} {e}");
                        break;
                }
            }
            return false;
        }

        private static string Parent(string p) => Path.GetDirectoryName(p) is { Length: > 0 } d ? d : ".";

        private void RemoveTree(string p) => Paths.RemoveWhere(q => q == p || q.StartsWith(p + "/", StringComparison.Ordinal));

        private static int FindPair(IReadOnlyList<ChangeEvent> events, int from, uint cookie)
        {
            for (int j = from + 1; j < events.Count; j++)
            {
                if (events[j].Kind == ChangeKind.MovedTo && events[j].Cookie == cookie)
                    return j;
            }
            return -1;
        }
    }
}
