using Understudy.Core.Jobs;
using Understudy.Agent.Events;
using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Source;

internal enum PlanKind : byte
{
    Delete,
    MakeDirectory,
    SendFile,
    DeltaFile,
    Symlink,
    HardLink,
    SetMetadata,

    /// <summary>The file is on the target under another name (<see cref="PlanItem.LinkTo"/>): rename it there.</summary>
    Move,

    /// <summary>On the target, not on the source when walked: removed, unless the source has it again by then.</summary>
    DeleteOrphan,
}

/// <summary>One step of a mirror: what to do to which target path, from which source entry. A struct: a plan holds
/// one per new entry (100,000 for a new tree of 100,000 directories). <see cref="New"/>: the target had nothing at
/// the path when compared (a send there may be a rename on the target instead, <see cref="MirrorEngine.FindMoves"/>);
/// with a one-byte <see cref="Kind"/> it takes no room of its own.</summary>
internal readonly record struct PlanItem(PlanKind Kind, int Root, FileEntry? Source, RelPath TargetPath, RelPath LinkTo = default, bool New = false);

/// <summary>
/// Brings a target up to date: lists the target (with content hashes in checksum mode), walks
/// the source roots, plans the differences, then streams them in order and ends with a barrier,
/// so "mirror complete" means durable on the target.
/// </summary>
internal sealed partial class MirrorEngine(JobDefinition job, SourceSession session, EventLog events, MirrorProgress progress)
{
    private readonly FsTree[] _trees = new FsTree[job.Roots.Count];

    public async Task RunAsync(CancellationToken ct)
    {
        Task? walk = null;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        try
        {
            for (int i = 0; i < _trees.Length; i++)
                _trees[i] = FsTree.Open(job.Roots[i].Path, create: false);
            progress.Phase = "comparing";
            bool hashes = progress.Mode == MirrorMode.Checksum;
            bool ownership = session.Opened.PreservesOwnership;
            // The source walk runs on a thread of its own, ahead of the comparison, while the target lists its tree:
            // the two scans overlap, and neither listing is held (issue 21).
            (var walked, walk) = SortedJoin.Ahead(WalkSources(), WalkAhead, stop.Token);
            var c = NewComparison(scoped: false);
            await CompareAsync(c, walked, session.GetManifestAsync(RelPath.Root, hashes, withXattrs: Thorough, ct), hashes, ownership, ct);
            await walk;
            var plan = FinishPlan(c, hashes, ownership);
            await ConfirmMovesAsync(plan, ct);
            (progress.FilesTotal, progress.BytesTotal) = plan.ContentTotals();
            progress.Phase = "transferring";
            _sentBefore = session.Connection.BytesSent;
            foreach (var item in plan.Moves)
                await StepAsync(item, ct);
            // Files first, with only the directories above them; files written meanwhile are sent ahead while the plan's
            // content goes (and the directories above them taken from it); what went ahead is not sent again at its place.
            var changes = plan.Changes;
            await SendFilesFirstAsync(changes, ct);
            for (int i = 0; i < changes.Count; i++)
            {
                await ServeEarlyAsync(changes, i, ct);
                if (!Done(i))
                    await StepAsync(changes[i], ct);
            }
            foreach (var item in plan.AfterChanges())
            {
                await ServeEarlyAsync(changes, changes.Count, ct);
                await StepAsync(item, ct);
            }
            progress.Phase = "finishing";
            if (_earlyBarrier is not null)
                await _earlyBarrier;
            await session.BarrierAsync(0, ct).WaitAsync(ct);
            progress.SetBytesSent(session.Connection.BytesSent - _sentBefore);
        }
        finally
        {
            if (walk is not null)
            {
                stop.Cancel(); // a comparison that failed leaves the walk waiting for room
                await Task.WhenAny(walk); // it reads through _trees: let it end before they close
            }
            foreach (var t in _trees)
                t?.Dispose();
        }
    }

    /// <summary>Entries the walk may be ahead of the comparison: enough to keep both scans busy, a few MB at most.</summary>
    private const int WalkAhead = 4096;

    private long _sentBefore;

    private async Task StepAsync(PlanItem item, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        if (session.Faulted.IsCompleted)
            await session.Faulted;
        await ExecuteAsync(item, ct);
        progress.SetBytesSent(session.Connection.BytesSent - _sentBefore);
    }

    /// <summary>
    /// Target paths (and below) the walk found gone when it came to read them: renamed or removed while it ran. Their
    /// copies on the target are no orphans this time (<see cref="FinishPlan"/> keeps them): the change that moved them
    /// was captured, and the replay after the mirror renames them there instead of this mirror deleting them and the
    /// rename then sending their content again.
    /// </summary>
    private readonly List<RelPath> _unsettled = [];

    private void OnWalkError(RelPath targetPath, RelPath path, Core.Posix.PosixException ex)
    {
        if (ex.IsNotFound)
            _unsettled.Add(targetPath);
        ReportSkip(path, ex.Message);
    }

    /// <summary>An entry the target cannot take (<see cref="ReceiverLimits"/>): listed in status, with a warning event the
    /// first time (or when its reason changes), and left out; everything else goes on.</summary>
    internal void NoteUnprotected(RelPath targetPath, string why)
    {
        if (job.Unprotected.Add(targetPath, why))
            events.Record(EventCode.NotProtected, Severity.Warning, "protection", job.Name, $"not protected: {targetPath}: {why}");
    }

    private void ReportSkip(RelPath path, string why)
    {
        progress.Skipped++;
        events.Record(EventCode.MirrorSkipped, Severity.Warning, "mirror", job.Name, $"skipped {path}: {why}");
    }
}
