using Understudy.Agent.Events;
using Understudy.Core.Paths;

namespace Understudy.Agent.Jobs;

// Subtrees the inotify watch limit left unwatched (issue 20): reported, and read afresh when watched again or changed.
internal sealed partial class JobRunner
{
    /// <summary>A subtree that was not watched is read afresh: a difference mirror of it (as for a path the target
    /// could not apply, <see cref="ResyncMissingAsync"/>), not of the whole job.</summary>
    private void OnSubtreeResync(int root, RelPath path, string why)
    {
        var targetPath = path.Rebase(RelPath.Root, Job.Roots[root].TargetPrefix);
        _ctx.Events.Record(EventCode.CaptureSubtreeResync, Severity.Info, "capture", Job.Name, why,
            new { root = Job.Roots[root].Path, path = path.ToString() });
        OnMissing(targetPath.ToString());
    }

    private void OnUnwatchedChanged(int root, IReadOnlyList<RelPath> unwatched)
    {
        if (unwatched.Count == 0)
        {
            _ctx.Events.Record(EventCode.CaptureWatchedAgain, Severity.Info, "capture", Job.Name,
                $"every directory under {Job.Roots[root].Path} is watched again", new { root = Job.Roots[root].Path });
            return;
        }
        var named = string.Join(", ", unwatched.Take(10).Select(p => p.IsRoot ? "/" : p.ToString()));
        _ctx.Events.Record(EventCode.CaptureUnwatched, Severity.Warning, "capture", Job.Name,
            $"{unwatched.Count} director{(unwatched.Count == 1 ? "y" : "ies")} under {Job.Roots[root].Path} not watched (the inotify watch limit), "
            + $"each with its subtree: {named}{(unwatched.Count > 10 ? ", …" : "")}; scanned for changes and retried every {_watchers.WatchRetry.TotalSeconds:0.###} s",
            new { root = Job.Roots[root].Path, count = unwatched.Count, paths = unwatched.Take(10).Select(p => p.ToString()).ToArray() });
    }
}
