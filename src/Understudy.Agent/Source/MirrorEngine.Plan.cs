using Understudy.Core.Jobs;
using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Source;

internal sealed partial class MirrorEngine
{
    /// <summary>
    /// A catch-up: entries whose ctime (ns since the epoch) is at or after this count as changed whatever their size and
    /// mtime say — a file's content is compared (a delta against the target's copy when both are big enough, else sent)
    /// and every entry's metadata, xattrs included, goes again. Null: size and mtime decide (docs/architecture.md,
    /// "Never silent loss").
    /// </summary>
    public long? ChangedSinceNs { get; init; }

    /// <summary>The end of that range (null: no end); changes after it have their records in the queue.</summary>
    public long? ChangedUntilNs { get; init; }

    private bool Changed(FileEntry e) => ChangedSinceNs is { } c && e.CtimeNs >= c && (ChangedUntilNs is not { } u || e.CtimeNs <= u);

    /// <summary>
    /// The plan from a finished comparison: moves (<see cref="FindMoves"/>), the changes, the orphans to delete (or
    /// keep), then directory metadata. The walk has ended: <see cref="_unsettled"/> is complete.
    /// </summary>
    private MirrorPlan FinishPlan(Comparison c, bool hashes, bool ownership)
    {
        var moves = FindMoves(c, hashes);
        c.Orphans.Sort(); // a resync's scopes each add theirs in order
        var deletes = new List<PlanItem>();
        foreach (var o in c.Orphans)
        {
            if (_unsettled.Count > 0 && _unsettled.Any(u => o.IsUnder(u)))
                continue;
            if (job.DeleteOrphans)
            {
                deletes.Add(new PlanItem(PlanKind.DeleteOrphan, 0, null, o));
                c.TouchedDirs.Add(o.Parent);
                progress.OrphansDeleted++;
            }
            else
            {
                progress.OrphansKept++;
            }
        }
        if (progress.OrphansKept > 0)
            events.Record(Events.EventCode.MirrorOrphansKept, Events.Severity.Info, "mirror", job.Name,
                $"{progress.OrphansKept} entries on the target are not on the source; kept (mirror.orphans: keep)");

        return new MirrorPlan(moves, deletes, c.Changes, DirectoryMetadata(c, ownership));
    }

    /// <param name="have">What the target has at the name, null when it is not a file.</param>
    /// <param name="there">What the target has at the name, whatever it is.</param>
    private PlanItem? PlanFile(int r, FileEntry e, RelPath tp, ManifestItem? have, ManifestItem? there, bool hashes, bool ownership,
        Dictionary<(ulong, ulong), Leader> leaders)
    {
        // The first name of a multiply linked file carries the content; the others are links to it. When the
        // first is sent again (temp + rename: a new inode there), the others must be linked to it again, even
        // those linked to each other on the target already: they would keep the old content.
        var key = (e.Device, e.Inode);
        bool shared = SharedWithAnother(e, have);
        if (e.LinkCount > 1 && leaders.TryGetValue(key, out var leader))
        {
            bool linked = !shared && !leader.Sent && have is not null && leader.TargetInode == have.Entry.Inode;
            return linked ? null : new PlanItem(PlanKind.HardLink, r, e, tp, leader.Path);
        }
        var item = shared ? new PlanItem(PlanKind.SendFile, r, e, tp) : PlanContent(r, e, tp, have, hashes, ownership);
        if (e.LinkCount > 1)
            leaders[key] = new Leader(tp, item?.Kind is PlanKind.SendFile or PlanKind.DeltaFile, there?.Entry.Inode);
        return item;
    }

    private PlanItem? PlanContent(int r, FileEntry e, RelPath tp, ManifestItem? have, bool hashes, bool ownership)
    {
        if (have is null)
            return new PlanItem(PlanKind.SendFile, r, e, tp);
        bool same = progress.Mode switch
        {
            MirrorMode.Full => false,
            MirrorMode.Checksum => have.Entry.Size == e.Size && hashes && have.Hash is { } th && SourceHash(r, e) == th,
            _ => have.Entry.Size == e.Size && have.Entry.MtimeNs == e.MtimeNs && !Changed(e),
        };
        if (!same)
            return new PlanItem(SendsDelta(e, have.Entry) ? PlanKind.DeltaFile : PlanKind.SendFile, r, e, tp);
        if (HolesFilled(r, e, have))
            return new PlanItem(PlanKind.SendFile, r, e, tp);
        return MetaItem(r, e, tp, have, ownership);
    }

    /// <summary>
    /// A changed file the target has a copy of goes as a block delta against that copy: always in checksum mode; in
    /// difference mode (rsync's default between hosts: size and mtime pick the files, the rolling hash then sends
    /// only what changed in them) when both copies are big enough for the target's signature and the source's
    /// second read to pay (<see cref="DeltaMinSize"/>, as for replication).
    /// </summary>
    private bool SendsDelta(FileEntry source, FileEntry target) => progress.Mode switch
    {
        MirrorMode.Checksum => target.Size > 0,
        MirrorMode.Different => source.Size >= DeltaMinSize && target.Size >= DeltaMinSize,
        _ => false,
    };

    private UInt128? SourceHash(int r, FileEntry e)
    {
        try
        {
            return Mirror.ManifestScan.HashFile(_trees[r], e.Path);
        }
        catch (Core.Posix.PosixException)
        {
            return null;
        }
    }

    private PlanItem? MetaItem(int r, FileEntry e, RelPath tp, ManifestItem have, bool ownership) =>
        Changed(e) || MetaDiffers(e, have.Entry, ownership) || XattrsDiffer(r, e, have) ? new PlanItem(PlanKind.SetMetadata, r, e, tp) : null;

    internal static bool MetaDiffers(FileEntry src, FileEntry dst, bool ownership) =>
        (src.Kind != EntryKind.Symlink && src.Mode != dst.Mode)
        || (ownership && (src.Uid != dst.Uid || src.Gid != dst.Gid))
        || src.MtimeNs != dst.MtimeNs;
}
