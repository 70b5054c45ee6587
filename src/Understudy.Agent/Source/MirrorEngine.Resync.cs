using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Source;

internal sealed partial class MirrorEngine
{
    private bool _resync;

    /// <summary>During a resync, an entry that vanishes while it is read is no skip worth an event: the change that
    /// removed it has its own record. A mirror reports every skip.</summary>
    private void ReportVanishedOrSkip(RelPath path, PosixException ex)
    {
        if (!(_resync && ex.IsNotFound))
            ReportSkip(path, ex.Message);
    }

    /// <summary>
    /// A difference mirror of one subtree (or one entry) of root <paramref name="r"/>, for replication's
    /// fallback: the target could not apply a change there, or the changes there may not have been reported
    /// in order. Compares the target's listing of the subtree with the source as it is now and sends what
    /// differs, removing what the source no longer has (construct the engine with
    /// <see cref="JobDefinition.DeleteOrphans"/> set). No barrier of its own: the replication barrier that
    /// follows covers it.
    /// </summary>
    public async Task ResyncAsync(int r, RelPath path, CancellationToken ct)
    {
        try
        {
            _trees[r] = FsTree.Open(job.Roots[r].Path, create: false);
            var tp = path.Rebase(RelPath.Root, job.Roots[r].TargetPrefix);
            var target = new Dictionary<RelPath, ManifestItem>();
            await foreach (var item in session.GetManifestAsync(tp, false, ct))
                target[item.Entry.Path] = item;
            var walked = new List<FileEntry>[_trees.Length];
            for (int i = 0; i < walked.Length; i++)
                walked[i] = [];
            _resync = true;
            foreach (var e in JobWalk.Included(job, _trees[r], path, ReportVanishedOrSkip, (p, why) => ReportSkip(p, why)))
                walked[r].Add(e);
            if (walked[r].Count == 0 && !path.IsRoot)
            {
                // Gone from the source (or never a thing it could send): gone from the target too.
                await session.SendAsync(new DeleteOp(tp), ct);
                return;
            }
            var plan = BuildPlan(target, walked, hashes: false, session.Opened.PreservesOwnership, scoped: true);
            await ConfirmMovesAsync(plan, ct);
            foreach (var item in plan)
            {
                if (session.Faulted.IsCompleted)
                    await session.Faulted;
                await ExecuteAsync(item, ct);
            }
        }
        finally
        {
            foreach (var t in _trees)
                t?.Dispose();
            Array.Clear(_trees);
        }
    }
}
