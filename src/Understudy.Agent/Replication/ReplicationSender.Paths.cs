using Understudy.Core.Paths;

namespace Understudy.Agent.Replication;

/// <summary>Source and target paths of the job's roots, one way and back.</summary>
internal sealed partial class ReplicationSender
{
    private RelPath Target(int root, RelPath p) => p.Rebase(RelPath.Root, _job.Roots[root].TargetPrefix);

    /// <summary>Maps a target path (from an ApplyFailed) back to a root and a source path.</summary>
    public bool TryMapTarget(RelPath tp, out int root, out RelPath path)
    {
        for (root = 0; root < _job.Roots.Count; root++)
        {
            var prefix = _job.Roots[root].TargetPrefix;
            if (tp.IsUnder(prefix))
            {
                path = tp.Rebase(prefix, RelPath.Root);
                return true;
            }
        }
        root = 0;
        path = default;
        return false;
    }
}
