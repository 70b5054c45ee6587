using Understudy.Agent.Replication.Capture;
using Understudy.Core.Paths;
using Understudy.Core.Posix;

namespace Understudy.Agent.Replication;

/// <summary>
/// Subtrees the watcher could not watch (inotify: the watch limit; <see cref="WatchProgress.Unwatched"/>): reported,
/// scanned for changes every <see cref="WatcherOptions.WatchRetry"/> until a watch is placed again, and read afresh
/// then (<see cref="ChangeKind.Resync"/>). Each way, the owner is asked for a difference mirror of the subtree
/// (<see cref="ResyncRequested"/>), not the whole job.
/// </summary>
/// <remarks>
/// The scan compares ctimes, not contents: every change to an entry (content, metadata, a link, a rename) moves its
/// ctime, and every name added to or removed from a directory moves the directory's, so a subtree whose entries all
/// have ctimes older than the previous scan (less a margin for the clock's granularity) has not changed since. One
/// lstat per entry, no read and nothing sent when nothing changed; a change found costs a difference mirror of that
/// subtree. So changes there arrive within about one interval instead of never, while the limit lasts.
/// </remarks>
internal sealed partial class CapturePipeline
{
    /// <summary>How far before the previous scan a ctime still counts as new: file system timestamps are coarse
    /// (a jiffy) and a change made while the previous scan walked past its entry must not be missed.</summary>
    private static readonly TimeSpan ScanMargin = TimeSpan.FromSeconds(2);

    /// <summary>A subtree must be read afresh (root, path, why): watched again, or changed while not watched.</summary>
    public Action<int, RelPath, string>? ResyncRequested { get; init; }

    /// <summary>Subtrees left unwatched changed (root, the subtrees now): reported by the owner (an event).</summary>
    public Action<int, IReadOnlyList<RelPath>>? UnwatchedChanged { get; init; }

    /// <summary>The subtrees left unwatched now, by root.</summary>
    public IReadOnlyList<(int Root, RelPath Path)> Unwatched =>
        [.. _watchers.SelectMany((w, r) => w is null ? [] : w.Progress.Unwatched.Select(p => (r, p)))];

    /// <summary>When each unwatched subtree was last scanned (or first seen unwatched).</summary>
    private readonly Dictionary<(int Root, RelPath Path), DateTimeOffset> _scanned = [];

    /// <summary>Per root, the unwatched subtrees last reported (<see cref="UnwatchedChanged"/>).</summary>
    private readonly IReadOnlyList<RelPath>?[] _unwatchedSeen;

    private async Task RescanUnwatchedAsync(CancellationToken ct)
    {
        var period = WatcherOptions.WatchRetry;
        if (period <= TimeSpan.Zero)
            return;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(period, _time, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            for (int r = 0; r < _watchers.Length; r++)
            {
                if (_watchers[r] is { } w)
                    await Task.Run(() => ScanRoot(r, w.Progress.Unwatched), ct);
            }
        }
    }

    private void ScanRoot(int root, IReadOnlyList<RelPath> unwatched)
    {
        var seen = _unwatchedSeen[root];
        if (!SameSet(seen, unwatched))
        {
            _unwatchedSeen[root] = unwatched;
            UnwatchedChanged?.Invoke(root, unwatched);
        }
        foreach (var key in _scanned.Keys.Where(k => k.Root == root && !unwatched.Contains(k.Path)).ToList())
            _scanned.Remove(key);
        if (unwatched.Count == 0)
            return;
        var now = _time.GetUtcNow();
        FsTree tree;
        try
        {
            tree = FsTree.Open(_job.Roots[root].Path, create: false);
        }
        catch (PosixException)
        {
            return; // the root is gone: the watcher says so
        }
        using (tree)
        {
            foreach (var path in unwatched)
            {
                // First seen unwatched: the overflow of the first failure had its catch-up mirror at about that time;
                // a period and the margin before now covers the time since, at the cost of a mirror too many.
                var since = (_scanned.TryGetValue((root, path), out var last) ? last : now - WatcherOptions.WatchRetry) - ScanMargin;
                _scanned[(root, path)] = now;
                if (ChangedSince(tree, path, (since - DateTimeOffset.UnixEpoch).Ticks * 100) is { } changed)
                    ResyncRequested?.Invoke(root, path, $"'{path}' (not watched: the inotify watch limit) changed ({changed}); reading it afresh");
            }
        }
    }

    /// <summary>The first entry at or below <paramref name="path"/> whose ctime is at or after <paramref name="sinceNs"/>.</summary>
    private RelPath? ChangedSince(FsTree tree, RelPath path, long sinceNs)
    {
        try
        {
            foreach (var e in tree.Walk(path, p => p == path || !_job.IsExcluded(p, false), onError: (_, _) => { }))
            {
                if (e.CtimeNs >= sinceNs)
                    return e.Path;
            }
        }
        catch (PosixException)
        {
            return path; // not readable as a whole: let the mirror find out
        }
        return null;
    }

    private static bool SameSet(IReadOnlyList<RelPath>? a, IReadOnlyList<RelPath> b) =>
        a is null ? b.Count == 0 : a.Count == b.Count && a.All(b.Contains);
}
