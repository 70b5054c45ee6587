using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Source;

internal static class JobWalk
{
    /// <summary>
    /// Walks one source root, leaving out excluded entries and everything under an excluded directory, and entries the
    /// target cannot take at their path (<see cref="ReceiverLimits.PathProblem"/>, with the root's
    /// <paramref name="targetPrefix"/>), with their subtrees: those go to <paramref name="onUnprotected"/> (target path, reason).
    /// </summary>
    public static IEnumerable<FileEntry> Included(JobDefinition job, FsTree tree, RelPath targetPrefix,
        Action<RelPath, PosixException>? onError = null, Action<RelPath, string>? onSkip = null, Action<RelPath, string>? onUnprotected = null) =>
        Included(job, tree, RelPath.Root, targetPrefix, onError, onSkip, onUnprotected);

    /// <summary>The same for the subtree at <paramref name="start"/> (itself first); the caller checks that no parent of it is excluded.</summary>
    public static IEnumerable<FileEntry> Included(JobDefinition job, FsTree tree, RelPath start, RelPath targetPrefix,
        Action<RelPath, PosixException>? onError = null, Action<RelPath, string>? onSkip = null, Action<RelPath, string>? onUnprotected = null)
    {
        bool Descend(RelPath p)
        {
            if (job.IsExcluded(p, false))
                return false;
            var tp = p.Rebase(RelPath.Root, targetPrefix);
            if (ReceiverLimits.PathProblem(tp) is not { } why)
                return true;
            onUnprotected?.Invoke(tp, why);
            return false;
        }
        RelPath? skipped = null;
        foreach (var e in tree.Walk(start, Descend, onError, onSkip))
        {
            // Pre-order walk: a subtree follows its directory directly, so one marker is enough.
            if (skipped is { } s && e.Path.IsUnder(s))
                continue;
            skipped = null;
            if (e.Kind == EntryKind.Directory && job.IsExcluded(e.Path, true))
            {
                skipped = e.Path;
                continue;
            }
            yield return e;
        }
    }
}
