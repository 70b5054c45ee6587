using Understudy.Core.Paths;

namespace Understudy.Agent.Replication.Capture;

/// <summary>
/// Subtrees past the watch limit (issue 20): kept, retried, and read afresh once watched.
/// </summary>
/// <remarks>
/// <para>A directory whose watch fails with ENOSPC (fs.inotify.max_user_watches) stands for its whole subtree: nothing
/// below it is listed or watched. The first failure is an overflow (a catch-up mirror reads the tree as it is then);
/// the directory is then kept in <see cref="_unwatched"/> and given a watch again every
/// <see cref="WatcherOptions.WatchRetry"/>, silently while the limit still refuses it.</para>
/// <para>A retried directory is set up like a new one (watch first, list second, its subdirectories the same), without
/// reporting what it holds; once nothing under it is left to set up, a <see cref="ChangeKind.Resync"/> of it is
/// published, so the difference mirror of it runs after every watch below it was placed: what changed before a watch
/// the mirror reads, what changes after it the watch reports. A subdirectory the limit still refuses goes back to
/// <see cref="_unwatched"/>; the resync of its retried ancestor covers it as it is then.</para>
/// <para>Between retries the capture pipeline scans the unwatched subtrees' ctimes (<see cref="WatchProgress.Unwatched"/>).</para>
/// </remarks>
internal sealed partial class InotifyWatcher
{
    /// <summary>Directories left without a watch by the limit, each standing for its subtree (none below another).</summary>
    private readonly List<RelPath> _unwatched = [];

    /// <summary>Retried directories whose subtree is being set up: a Resync of each follows when that is done.</summary>
    private readonly List<RelPath> _rewatching = [];

    /// <summary>When the next retry is due (Environment.TickCount64), while <see cref="_unwatched"/> is not empty.</summary>
    private long _retryAt;

    private bool RetryDue => _unwatched.Count > 0 && Options.WatchRetry > TimeSpan.Zero && Environment.TickCount64 >= _retryAt;

    /// <summary>Milliseconds until the next retry (for poll), or -1 when none is due.</summary>
    private int RetryTimeoutMs => _unwatched.Count == 0 || Options.WatchRetry <= TimeSpan.Zero
        ? -1
        : (int)Math.Clamp(_retryAt - Environment.TickCount64, 0, int.MaxValue);

    /// <summary>The watch limit refused <paramref name="path"/>: kept for a retry. False when it was kept already
    /// (a retry refused again, or below another unwatched directory): nothing new to report.</summary>
    private bool KeepUnwatched(RelPath path, bool retry)
    {
        if (_unwatched.Any(path.IsUnder))
            return false;
        _unwatched.RemoveAll(u => u.IsUnder(path));
        if (_unwatched.Count == 0)
            _retryAt = Environment.TickCount64 + (long)Options.WatchRetry.TotalMilliseconds;
        _unwatched.Add(path);
        PublishUnwatched();
        return !retry;
    }

    /// <summary>Gives every unwatched directory to the setup queue again (see the remarks).</summary>
    private void RetryUnwatched()
    {
        _retryAt = Environment.TickCount64 + (long)Options.WatchRetry.TotalMilliseconds;
        foreach (var path in _unwatched)
        {
            _fresh.Enqueue(new SetupItem(path, Report: false, Retry: true));
            if (!_rewatching.Contains(path))
                _rewatching.Add(path);
        }
        _unwatched.Clear();
        PublishUnwatched();
    }

    /// <summary>After a setup step: a retried subtree with nothing left to set up is read afresh (a Resync).</summary>
    private void FinishRewatching()
    {
        for (int i = _rewatching.Count - 1; i >= 0; i--)
        {
            var path = _rewatching[i];
            if (_fresh.Any(f => f.Path.IsUnder(path)) || _initial.Any(f => f.Path.IsUnder(path)))
                continue;
            _rewatching.RemoveAt(i);
            if (_unwatched.Contains(path))
                continue; // the limit still refuses it: retried later
            Sink.Publish(new ChangeEvent(ChangeKind.Resync, path, true,
                Reason: $"'{path}' is watched again ({_table.Count} watches); changes made there while it was not watched are read now"));
        }
        if (_unwatched.Count == 0 && _limitReported)
        {
            _limitReported = false;
            Progress.ClearError();
        }
    }

    /// <summary>A directory renamed: unwatched and retried subtrees below it move with it.</summary>
    private void RebaseUnwatched(RelPath from, RelPath to)
    {
        Rebase(_unwatched, from, to);
        Rebase(_rewatching, from, to);
        PublishUnwatched();
    }

    /// <summary>A subtree left the root or was deleted.</summary>
    private void ForgetUnwatched(RelPath path)
    {
        if (_unwatched.RemoveAll(u => u.IsUnder(path)) + _rewatching.RemoveAll(u => u.IsUnder(path)) > 0)
            PublishUnwatched();
    }

    private static void Rebase(List<RelPath> list, RelPath from, RelPath to)
    {
        for (int i = 0; i < list.Count; i++)
        {
            if (list[i].IsUnder(from))
                list[i] = list[i].Rebase(from, to);
        }
    }

    private void PublishUnwatched() => Progress.SetUnwatched([.. _unwatched]);
}
