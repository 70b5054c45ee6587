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

    /// <summary>Compares the source walk with the target manifest and lists what to do, in apply order.</summary>
    /// <param name="scoped">The walk and the manifest cover one subtree (a resync), not whole roots.</param>
    private MirrorPlan BuildPlan(Dictionary<RelPath, ManifestItem> target, List<FileEntry>[] walked, bool hashes, bool ownership, bool scoped = false)
    {
        // Sized for what the target lacks (a new tree: one step per entry): grown by doubling instead, the list left
        // large-object garbage of about its own size behind, which only a gen2 collection returns.
        int walkedCount = 0;
        foreach (var w in walked)
            walkedCount += w.Count;
        var plan = new List<PlanItem>(Math.Max(0, walkedCount - target.Count) + 16);
        // Only names the target has: what it has that is not seen is an orphan (a new tree adds nothing here).
        var seen = new HashSet<RelPath>();
        var touchedDirs = new HashSet<RelPath>();
        var leaders = new Dictionary<(ulong Dev, ulong Ino), (RelPath Path, bool Sent)>();
        _claims.Clear();

        for (int r = 0; r < _trees.Length; r++)
        {
            var root = job.Roots[r];
            if (!root.TargetPrefix.IsRoot && !scoped)
            {
                if (!target.TryGetValue(root.TargetPrefix, out var t) || t.Entry.Kind != EntryKind.Directory)
                {
                    if (t is not null)
                        plan.Add(new PlanItem(PlanKind.Delete, r, null, root.TargetPrefix));
                    var rootStat = _trees[r].Lstat(RelPath.Root);
                    plan.Add(new PlanItem(PlanKind.MakeDirectory, r,
                        new FileEntry(RelPath.Root, EntryKind.Directory, rootStat?.Mode ?? 0x1ED, rootStat?.Uid ?? 0, rootStat?.Gid ?? 0, 0, rootStat?.MtimeNs ?? 0),
                        root.TargetPrefix));
                }
                if (t is not null)
                    seen.Add(root.TargetPrefix);
            }
            foreach (var e in walked[r])
            {
                var tp = e.Path.Rebase(RelPath.Root, root.TargetPrefix);
                target.TryGetValue(tp, out var have);
                if (have is not null)
                    seen.Add(tp);
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
                if (item is { } it)
                {
                    plan.Add(it);
                    touchedDirs.Add(tp.Parent);
                }
            }
        }

        var moves = FindMoves(plan, target, seen, hashes, touchedDirs);
        var orphans = new List<RelPath>();
        foreach (var k in target.Keys)
        {
            if (!seen.Contains(k))
                orphans.Add(k);
        }
        orphans.Sort();
        var deletes = new List<PlanItem>();
        RelPath? lastDeleted = null;
        foreach (var o in orphans)
        {
            if (lastDeleted is { } ld && o.IsUnder(ld))
                continue;
            if (_unsettled.Count > 0 && _unsettled.Any(u => o.IsUnder(u)))
                continue;
            lastDeleted = o;
            if (job.DeleteOrphans)
            {
                deletes.Add(new PlanItem(PlanKind.DeleteOrphan, 0, null, o));
                touchedDirs.Add(o.Parent);
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

        return new MirrorPlan(moves, deletes, plan, DirectoryMetadata(target, walked, touchedDirs, ownership));
    }

    /// <summary>
    /// Directory metadata last and deepest first: adding children changes a directory's mtime. Worked out from the walk
    /// as the plan is enumerated (after everything else in it), not stored with the plan: <paramref name="touchedDirs"/>
    /// is complete by then and nothing changes <paramref name="target"/> while the plan runs.
    /// </summary>
    private IEnumerable<PlanItem> DirectoryMetadata(Dictionary<RelPath, ManifestItem> target, List<FileEntry>[] walked, HashSet<RelPath> touchedDirs, bool ownership)
    {
        for (int r = walked.Length - 1; r >= 0; r--)
        {
            var prefix = job.Roots[r].TargetPrefix;
            var entries = walked[r];
            for (int i = entries.Count - 1; i >= 0; i--)
            {
                var e = entries[i];
                if (e.Kind != EntryKind.Directory)
                    continue;
                var tp = e.Path.Rebase(RelPath.Root, prefix);
                // Created by this plan: the target had nothing there, or something else (deleted first).
                bool created = !target.TryGetValue(tp, out var h) || h.Entry.Kind != EntryKind.Directory;
                if (created || touchedDirs.Contains(tp) || Changed(e) || MetaDiffers(e, h!.Entry, ownership) || XattrsDiffer(r, e, h))
                    yield return new PlanItem(PlanKind.SetMetadata, r, e, tp);
            }
            // The root itself is not in the walk, but it is part of the replica: its mode, owner, xattrs and mtime
            // (changed by every entry created in it) are set last of its tree, once.
            if (_trees[r].Lstat(RelPath.Root) is { } rs)
            {
                var re = new FileEntry(RelPath.Root, EntryKind.Directory, rs.Mode, rs.Uid, rs.Gid, 0, rs.MtimeNs);
                if (touchedDirs.Contains(prefix) || !target.TryGetValue(prefix, out var rh) || MetaDiffers(re, rh.Entry, ownership))
                    yield return new PlanItem(PlanKind.SetMetadata, r, re, prefix);
            }
        }
    }

    /// <summary>
    /// A file missing on the target under its name may be there under another (renamed while replication could not
    /// follow: a catch-up after lost events). One that is not on the source any more, with the same size, mtime and
    /// content, is renamed into place instead of the file being sent again (and the other name deleted): the target
    /// keeps its inode and nothing is transferred. Moves go first, before the deletions that may take their old
    /// directories; the later delete of a moved name finds nothing. With the manifest's hashes (checksum mode) the
    /// content is compared here; otherwise candidates are kept for <see cref="ConfirmMovesAsync"/>.
    /// </summary>
    private List<PlanItem> FindMoves(List<PlanItem> plan, Dictionary<RelPath, ManifestItem> target, HashSet<RelPath> seen, bool hashes, HashSet<RelPath> touchedDirs)
    {
        var moves = new List<PlanItem>();
        _moveCandidates = null;
        if (progress.Mode == MirrorMode.Full)
            return moves;
        var gone = new Dictionary<(long Size, long Mtime), List<RelPath>>();
        foreach (var (path, item) in target)
        {
            if (item.Entry.Kind == EntryKind.File && !seen.Contains(path))
            {
                var key = (item.Entry.Size, item.Entry.MtimeNs);
                if (!gone.TryGetValue(key, out var list))
                    gone[key] = list = [];
                list.Add(path);
            }
        }
        if (gone.Count == 0)
            return moves;
        if (!hashes)
        {
            // Any of them may be renamed away, changing its directory's mtime on the target.
            foreach (var p in gone.Values.SelectMany(l => l))
                touchedDirs.Add(p.Parent);
            _moveCandidates = new MoveCandidates(gone, [.. plan.Where(p => p.Kind == PlanKind.SendFile && !target.ContainsKey(p.TargetPath)).Select(p => p.TargetPath)]);
            return moves;
        }
        for (int i = 0; i < plan.Count; i++)
        {
            if (plan[i] is not { Kind: PlanKind.SendFile, Source: { LinkCount: <= 1 } e } send || target.ContainsKey(send.TargetPath)
                || !gone.TryGetValue((e.Size, e.MtimeNs), out var candidates) || candidates.Count == 0 || SourceHash(send.Root, e) is not { } sh)
                continue;
            int pick = candidates.FindIndex(c => target[c].Hash == sh);
            if (pick < 0)
                continue;
            var from = candidates[pick];
            candidates.RemoveAt(pick);
            touchedDirs.Add(from.Parent);
            moves.Add(new PlanItem(PlanKind.Move, send.Root, e, send.TargetPath, from));
            plan.RemoveAt(i--);
        }
        return moves;
    }

    /// <summary>Files gone from the source by (size, mtime), and the paths of the files the plan sends to a name the target lacks.</summary>
    private sealed record MoveCandidates(Dictionary<(long Size, long Mtime), List<RelPath>> Gone, HashSet<RelPath> Missing);

    private MoveCandidates? _moveCandidates;

    /// <summary>Without hashes in the manifest: compares each candidate's content (the target hashes the names gone from
    /// the source, once each) and turns the sends that match into moves, placed first.</summary>
    private async Task ConfirmMovesAsync(MirrorPlan mirrorPlan, CancellationToken ct)
    {
        if (_moveCandidates is not { } c)
            return;
        _moveCandidates = null;
        var plan = mirrorPlan.Changes;
        var targetHashes = new Dictionary<RelPath, UInt128?>();
        var moves = new List<PlanItem>();
        for (int i = 0; i < plan.Count; i++)
        {
            if (plan[i] is not { Kind: PlanKind.SendFile, Source: { LinkCount: <= 1 } e } send || !c.Missing.Contains(send.TargetPath)
                || !c.Gone.TryGetValue((e.Size, e.MtimeNs), out var candidates) || candidates.Count == 0 || SourceHash(send.Root, e) is not { } sh)
                continue;
            RelPath? from = null;
            foreach (var candidate in candidates)
            {
                if (!targetHashes.TryGetValue(candidate, out var th))
                    targetHashes[candidate] = th = await TargetHashAsync(candidate, ct);
                if (th == sh)
                {
                    from = candidate;
                    break;
                }
            }
            if (from is not { } f)
                continue;
            candidates.Remove(f);
            moves.Add(new PlanItem(PlanKind.Move, send.Root, e, send.TargetPath, f));
            plan.RemoveAt(i--);
        }
        mirrorPlan.Moves.InsertRange(0, moves);
    }

    private async Task<UInt128?> TargetHashAsync(RelPath path, CancellationToken ct)
    {
        UInt128? hash = null;
        await foreach (var item in session.GetManifestAsync(path, true, ct))
        {
            if (item.Entry.Path == path)
                hash = item.Hash;
        }
        return hash;
    }

    private PlanItem? PlanFile(int r, FileEntry e, RelPath tp, ManifestItem? have, bool hashes, bool ownership,
        Dictionary<(ulong, ulong), (RelPath Path, bool Sent)> leaders, Dictionary<RelPath, ManifestItem> target)
    {
        // The first name of a multiply linked file carries the content; the others are links to it. When the
        // first is sent again (temp + rename: a new inode there), the others must be linked to it again, even
        // those linked to each other on the target already: they would keep the old content.
        var key = (e.Device, e.Inode);
        bool shared = SharedWithAnother(e, have);
        if (e.LinkCount > 1 && leaders.TryGetValue(key, out var leader))
        {
            bool linked = !shared && !leader.Sent && have is not null && target.TryGetValue(leader.Path, out var lt) && lt.Entry.Inode == have.Entry.Inode;
            return linked ? null : new PlanItem(PlanKind.HardLink, r, e, tp, leader.Path);
        }
        var item = shared ? new PlanItem(PlanKind.SendFile, r, e, tp) : PlanContent(r, e, tp, have, hashes, ownership);
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
