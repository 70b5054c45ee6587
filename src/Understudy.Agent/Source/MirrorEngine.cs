using Understudy.Core.Jobs;
using Understudy.Agent.Events;
using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Source;

internal enum PlanKind
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
}

/// <summary>One step of a mirror: what to do to which target path, from which source entry. A struct: a plan holds
/// one per new entry (100,000 for a new tree of 100,000 directories).</summary>
internal readonly record struct PlanItem(PlanKind Kind, int Root, FileEntry? Source, RelPath TargetPath, RelPath LinkTo = default);

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
        Task<List<FileEntry>[]>? walk = null;
        try
        {
            for (int i = 0; i < _trees.Length; i++)
                _trees[i] = FsTree.Open(job.Roots[i].Path, create: false);
            progress.Phase = "comparing";
            bool hashes = progress.Mode == MirrorMode.Checksum;
            // The source walk runs while the target lists its tree: the two scans overlap.
            walk = Task.Run(WalkSources, ct);
            var target = new Dictionary<RelPath, ManifestItem>();
            await foreach (var item in session.GetManifestAsync(RelPath.Root, hashes, ct))
                target[item.Entry.Path] = item;
            var walked = await walk;
            var plan = BuildPlan(target, walked, hashes, session.Opened.PreservesOwnership);
            await ConfirmMovesAsync(plan, ct);
            (progress.FilesTotal, progress.BytesTotal) = plan.ContentTotals();
            progress.Phase = "transferring";
            long sentBefore = session.Connection.BytesSent;
            foreach (var item in plan)
            {
                ct.ThrowIfCancellationRequested();
                if (session.Faulted.IsCompleted)
                    await session.Faulted;
                await ExecuteAsync(item, ct);
                progress.SetBytesSent(session.Connection.BytesSent - sentBefore);
            }
            progress.Phase = "finishing";
            await session.BarrierAsync(0, ct).WaitAsync(ct);
            progress.SetBytesSent(session.Connection.BytesSent - sentBefore);
        }
        finally
        {
            if (walk is not null)
                await Task.WhenAny(walk); // it reads through _trees: let it end before they close
            foreach (var t in _trees)
                t?.Dispose();
        }
    }

    private List<FileEntry>[] WalkSources()
    {
        var walked = new List<FileEntry>[_trees.Length];
        for (int r = 0; r < _trees.Length; r++)
        {
            walked[r] = [];
            foreach (var e in JobWalk.Included(job, _trees[r], (p, ex) => ReportSkip(p, ex.Message), (p, why) => ReportSkip(p, why)))
            {
                walked[r].Add(e);
                progress.FilesScanned++;
            }
        }
        return walked;
    }

    private void ReportSkip(RelPath path, string why)
    {
        progress.Skipped++;
        events.Record(Severity.Warning, "mirror", job.Name, $"skipped {path}: {why}");
    }
}
