using Understudy.Core.Jobs;
using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Source;

internal sealed partial class MirrorEngine
{
    /// <summary>Compares the source walk with the target manifest and lists what to do, in apply order.</summary>
    /// <param name="scoped">The walk and the manifest cover one subtree (a resync), not whole roots.</param>
    private List<PlanItem> BuildPlan(Dictionary<RelPath, ManifestItem> target, List<FileEntry>[] walked, bool hashes, bool ownership, bool scoped = false)
    {
        var plan = new List<PlanItem>();
        var seen = new HashSet<RelPath>();
        var dirs = new List<(int Root, FileEntry Entry, bool Touched)>();
        var touchedDirs = new HashSet<RelPath>();
        var leaders = new Dictionary<(ulong Dev, ulong Ino), (RelPath Path, bool Sent)>();

        for (int r = 0; r < _trees.Length; r++)
        {
            var root = job.Roots[r];
            if (!root.TargetPrefix.IsRoot && !scoped)
            {
                seen.Add(root.TargetPrefix);
                if (!target.TryGetValue(root.TargetPrefix, out var t) || t.Entry.Kind != EntryKind.Directory)
                {
                    if (t is not null)
                        plan.Add(new PlanItem(PlanKind.Delete, r, null, root.TargetPrefix));
                    var rootStat = _trees[r].Lstat(RelPath.Root);
                    plan.Add(new PlanItem(PlanKind.MakeDirectory, r,
                        new FileEntry(RelPath.Root, EntryKind.Directory, rootStat?.Mode ?? 0x1ED, rootStat?.Uid ?? 0, rootStat?.Gid ?? 0, 0, rootStat?.MtimeNs ?? 0),
                        root.TargetPrefix));
                }
            }
            foreach (var e in walked[r])
            {
                var tp = e.Path.Rebase(RelPath.Root, root.TargetPrefix);
                seen.Add(tp);
                target.TryGetValue(tp, out var have);
                bool kindDiffers = have is not null && have.Entry.Kind != e.Kind;
                if (kindDiffers)
                    plan.Add(new PlanItem(PlanKind.Delete, r, null, tp));
                var h = kindDiffers ? null : have;
                PlanItem? item = e.Kind switch
                {
                    EntryKind.Directory => h is null ? new PlanItem(PlanKind.MakeDirectory, r, e, tp) : null,
                    EntryKind.Symlink => h is null || !h.Entry.LinkTarget.AsSpan().SequenceEqual(e.LinkTarget)
                        ? new PlanItem(PlanKind.Symlink, r, e, tp)
                        : MetaItem(r, e, tp, h, ownership),
                    _ => PlanFile(r, e, tp, h, hashes, ownership, leaders, target),
                };
                if (e.Kind == EntryKind.Directory)
                    dirs.Add((r, e, h is null));
                if (item is not null)
                {
                    plan.Add(item);
                    touchedDirs.Add(tp.Parent);
                }
            }
        }

        var orphans = target.Keys.Where(k => !seen.Contains(k)).OrderBy(k => k).ToList();
        var deletes = new List<PlanItem>();
        RelPath? lastDeleted = null;
        foreach (var o in orphans)
        {
            if (lastDeleted is { } ld && o.IsUnder(ld))
                continue;
            lastDeleted = o;
            if (job.DeleteOrphans)
            {
                deletes.Add(new PlanItem(PlanKind.Delete, 0, null, o));
                touchedDirs.Add(o.Parent);
                progress.OrphansDeleted++;
            }
            else
            {
                progress.OrphansKept++;
            }
        }
        if (progress.OrphansKept > 0)
            events.Record(Events.Severity.Info, "mirror", job.Name,
                $"{progress.OrphansKept} entries on the target are not on the source; kept (mirror.orphans: keep)");

        // Directory metadata last and deepest first: adding children changes a directory's mtime.
        for (int i = dirs.Count - 1; i >= 0; i--)
        {
            var (r, e, created) = dirs[i];
            var tp = e.Path.Rebase(RelPath.Root, job.Roots[r].TargetPrefix);
            target.TryGetValue(tp, out var h);
            if (created || touchedDirs.Contains(tp) || h is null || MetaDiffers(e, h.Entry, ownership))
                plan.Add(new PlanItem(PlanKind.SetMetadata, r, e, tp));
        }
        deletes.AddRange(plan);
        return deletes;
    }

    private PlanItem? PlanFile(int r, FileEntry e, RelPath tp, ManifestItem? have, bool hashes, bool ownership,
        Dictionary<(ulong, ulong), (RelPath Path, bool Sent)> leaders, Dictionary<RelPath, ManifestItem> target)
    {
        // The first name of a multiply linked file carries the content; the others are links to it. When the
        // first is sent again (temp + rename: a new inode there), the others must be linked to it again, even
        // those linked to each other on the target already: they would keep the old content.
        var key = (e.Device, e.Inode);
        if (e.LinkCount > 1 && leaders.TryGetValue(key, out var leader))
        {
            bool linked = !leader.Sent && have is not null && target.TryGetValue(leader.Path, out var lt) && lt.Entry.Inode == have.Entry.Inode;
            return linked ? null : new PlanItem(PlanKind.HardLink, r, e, tp, leader.Path);
        }
        var item = PlanContent(r, e, tp, have, hashes, ownership);
        if (e.LinkCount > 1)
            leaders[key] = (tp, item?.Kind is PlanKind.SendFile or PlanKind.DeltaFile);
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
            _ => have.Entry.Size == e.Size && have.Entry.MtimeNs == e.MtimeNs,
        };
        if (!same)
            return new PlanItem(progress.Mode == MirrorMode.Checksum && have.Entry.Size > 0 ? PlanKind.DeltaFile : PlanKind.SendFile, r, e, tp);
        return MetaItem(r, e, tp, have, ownership);
    }

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

    private static PlanItem? MetaItem(int r, FileEntry e, RelPath tp, ManifestItem have, bool ownership) =>
        MetaDiffers(e, have.Entry, ownership) ? new PlanItem(PlanKind.SetMetadata, r, e, tp) : null;

    internal static bool MetaDiffers(FileEntry src, FileEntry dst, bool ownership) =>
        (src.Kind != EntryKind.Symlink && src.Mode != dst.Mode)
        || (ownership && (src.Uid != dst.Uid || src.Gid != dst.Gid))
        || src.MtimeNs != dst.MtimeNs;
}
