using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Source;

internal sealed partial class MirrorEngine
{
    private bool _resync;

    /// <summary>
    /// Target paths of files listed to be sent but gone when read: renamed (they or a directory above them) or deleted
    /// since. The caller hands them to replication, which sends them again after the rename that explains them.
    /// </summary>
    public List<RelPath> Vanished { get; } = [];

    /// <summary>
    /// Multiply linked files this resync sent (content or a link) that have more names than it looked at: the other
    /// names lie outside its scopes, so it could not link them, and replication's recheck must (convergence seed 301:
    /// a hard link moved in, its directory renamed before it was sent, went again as a file of its own).
    /// </summary>
    public List<(int Root, RelPath Path, (ulong Dev, ulong Ino) Inode)> LinkedBeyondScope { get; } = [];

    /// <summary>During a resync, an entry that vanishes while it is read is no skip worth an event: the change that
    /// removed it has its own record. A mirror reports every skip.</summary>
    private void ReportVanishedOrSkip(RelPath path, PosixException ex)
    {
        if (!(_resync && ex.IsNotFound))
            ReportSkip(path, ex.Message);
    }

    /// <summary>
    /// A difference mirror of some subtrees (or single entries), for replication's fallback: the target could not
    /// apply a change there, or the changes there may not have been reported in order. Compares the target's listing
    /// of each with the source as it is now and sends what differs, removing what the source no longer has (construct
    /// the engine with <see cref="JobDefinition.DeleteOrphans"/> set). One plan for all of them, so a file the target
    /// has under one of them and the source under another (a rename it could not apply) is moved there, not sent
    /// again. The scopes must not overlap. No barrier of its own: the replication barrier that follows covers it.
    /// </summary>
    public async Task ResyncAsync(IReadOnlyList<(int Root, RelPath Path)> scopes, CancellationToken ct)
    {
        try
        {
            _resync = true;
            bool ownership = session.Opened.PreservesOwnership;
            var c = NewComparison(scoped: true);
            foreach (var (r, path) in scopes)
            {
                _trees[r] ??= FsTree.Open(job.Roots[r].Path, create: false);
                var prefix = job.Roots[r].TargetPrefix;
                // A scope gone from the source leaves only orphans: what the target has there is removed (or moved).
                var walked = JobWalk.Included(job, _trees[r], path, prefix, ReportVanishedOrSkip, (p, why) => ReportSkip(p, why), NoteUnprotected)
                    .Select(e => new Walked(r, e, e.Path.Rebase(RelPath.Root, prefix)));
                await CompareAsync(c, SortedJoin.InLine(walked), session.GetManifestAsync(path.Rebase(RelPath.Root, prefix), false, ct),
                    hashes: false, ownership, ct);
            }
            var plan = FinishPlan(c, hashes: false, ownership);
            NoteLinkedBeyondScope(plan, c.LinkNames!);
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

    private void NoteLinkedBeyondScope(IEnumerable<PlanItem> plan, Dictionary<(ulong Dev, ulong Ino), int> names)
    {
        foreach (var item in plan)
        {
            if (item.Kind is PlanKind.SendFile or PlanKind.DeltaFile or PlanKind.HardLink && item.Source is { LinkCount: > 1 } e
                && names.GetValueOrDefault((e.Device, e.Inode)) < e.LinkCount)
                LinkedBeyondScope.Add((item.Root, e.Path, (e.Device, e.Inode)));
        }
    }
}
