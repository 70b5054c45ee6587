using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Posix;

namespace Understudy.Agent.Source;

internal static class JobWalk
{
    /// <summary>Walks one source root, leaving out excluded entries and everything under an excluded directory.</summary>
    public static IEnumerable<FileEntry> Included(JobDefinition job, FsTree tree,
        Action<RelPath, PosixException>? onError = null, Action<RelPath, string>? onSkip = null) =>
        Included(job, tree, RelPath.Root, onError, onSkip);

    /// <summary>The same for the subtree at <paramref name="start"/> (itself first); the caller checks that no parent of it is excluded.</summary>
    public static IEnumerable<FileEntry> Included(JobDefinition job, FsTree tree, RelPath start,
        Action<RelPath, PosixException>? onError = null, Action<RelPath, string>? onSkip = null)
    {
        RelPath? skipped = null;
        foreach (var e in tree.Walk(start, p => !job.IsExcluded(p, false), onError, onSkip))
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
