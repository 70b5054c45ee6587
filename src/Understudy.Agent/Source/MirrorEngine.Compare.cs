using Understudy.Core.Jobs;
using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Source;

internal sealed partial class MirrorEngine
{
    /// <summary>An entry of the source's walk, with its root and its path on the target. <see cref="IsPrefix"/>: the
    /// directory a root lands in on the target (its target prefix, with several roots), which the walk does not yield.</summary>
    private sealed record Walked(int Root, FileEntry Entry, RelPath TargetPath, bool IsPrefix = false);

    /// <summary>A source directory, for the directory metadata at the plan's end; <see cref="Differs"/>: set whether or
    /// not anything is created in it (the target lacks it, or its metadata differs).</summary>
    private readonly record struct DirStep(int Root, FileEntry Entry, RelPath TargetPath, bool Differs);

    /// <summary>The first name of a multiply linked file met by the plan; <see cref="TargetInode"/>: the inode of what
    /// the target has at that name (null: nothing).</summary>
    private readonly record struct Leader(RelPath Path, bool Sent, ulong? TargetInode);

    /// <summary>
    /// What comparing the walk with the manifest gathers, a path at a time (<see cref="SortedJoin"/>): the steps, and
    /// only what the steps after the comparison need — no listing of either side. Grows with the differences, the
    /// directories and the hard-linked files, not with the files the two sides agree on.
    /// </summary>
    private sealed class Comparison(int roots, bool moves, bool scoped)
    {
        /// <summary>Creations and updates, in path order (<see cref="MirrorPlan.Changes"/>).</summary>
        public List<PlanItem> Changes { get; } = [];

        public HashSet<RelPath> TouchedDirs { get; } = [];

        public Dictionary<(ulong Dev, ulong Ino), Leader> Leaders { get; } = [];

        /// <summary>On the target only: the top of each such subtree, in path order.</summary>
        public List<RelPath> Orphans { get; } = [];

        /// <summary>Every file on the target only, by (size, mtime): what a file the target lacks may be renamed from
        /// (<see cref="FindMoves"/>). Null in full mode, which moves nothing.</summary>
        public Dictionary<(long Size, long Mtime), List<ManifestItem>>? Gone { get; } = moves ? [] : null;

        public List<DirStep> Directories { get; } = [];

        /// <summary>By root: what the target has at the root's target prefix (null: nothing, and always for the job's
        /// own target directory, which no manifest lists).</summary>
        public ManifestItem?[] PrefixHave { get; } = new ManifestItem?[roots];

        /// <summary>A resync: the names walked of each multiply linked file (<see cref="NoteLinkedBeyondScope"/>).</summary>
        public Dictionary<(ulong Dev, ulong Ino), int>? LinkNames { get; } = scoped ? [] : null;
    }

    /// <summary>Directories the target has (for early sends, <see cref="SendEarlyAsync"/>); kept only when
    /// <see cref="Early"/> is set.</summary>
    private HashSet<RelPath>? _targetDirs;

    private Comparison NewComparison(bool scoped)
    {
        _claims.Clear();
        _targetDirs = Early is null ? null : [];
        return new Comparison(_trees.Length, progress.Mode != MirrorMode.Full, scoped);
    }

    /// <summary>The roots' walks in target path order, each after its target prefix (several roots: one directory
    /// each below the job's target path, their base names), as the manifest of the whole target lists them.</summary>
    private IEnumerable<Walked> WalkSources()
    {
        var order = Enumerable.Range(0, _trees.Length).OrderBy(r => job.Roots[r].TargetPrefix).ToArray();
        foreach (int r in order)
        {
            var prefix = job.Roots[r].TargetPrefix;
            if (!prefix.IsRoot)
            {
                var rs = _trees[r].Lstat(RelPath.Root);
                yield return new Walked(r, new FileEntry(RelPath.Root, EntryKind.Directory, rs?.Mode ?? 0x1ED, rs?.Uid ?? 0, rs?.Gid ?? 0, 0, rs?.MtimeNs ?? 0),
                    prefix, IsPrefix: true);
            }
            foreach (var e in JobWalk.Included(job, _trees[r], prefix, (p, ex) => OnWalkError(p.Rebase(RelPath.Root, prefix), p, ex), (p, why) => ReportSkip(p, why), NoteUnprotected))
            {
                progress.FilesScanned++;
                yield return new Walked(r, e, e.Path.Rebase(RelPath.Root, prefix));
            }
        }
    }

    /// <summary>Compares a walk with the target's manifest of the same part of the tree, both in path order, adding
    /// to <paramref name="c"/> what differs.</summary>
    private async Task CompareAsync(Comparison c, IAsyncEnumerable<Walked> source, IAsyncEnumerable<ManifestItem> target,
        bool hashes, bool ownership, CancellationToken ct)
    {
        await foreach (var (s, t) in SortedJoin.JoinAsync(source, w => w.TargetPath, target, i => i.Entry.Path, ct))
        {
            if (t is not null)
                NoteTarget(c, t);
            if (s is null)
                NoteOrphan(c, t!);
            else if (s.IsPrefix)
                PlanPrefix(c, s, t);
            else
                Compare(c, s, t, hashes, ownership);
        }
    }

    private void NoteTarget(Comparison c, ManifestItem t)
    {
        if (t.Entry.Kind == EntryKind.Directory)
            _targetDirs?.Add(t.Entry.Path);
        for (int r = 0; r < c.PrefixHave.Length; r++)
        {
            if (t.Entry.Path == job.Roots[r].TargetPrefix)
                c.PrefixHave[r] = t;
        }
    }

    private static void NoteOrphan(Comparison c, ManifestItem t)
    {
        var p = t.Entry.Path;
        if (c.Orphans.Count == 0 || !p.IsUnder(c.Orphans[^1]))
            c.Orphans.Add(p);
        if (c.Gone is { } gone && t.Entry.Kind == EntryKind.File)
        {
            var key = (t.Entry.Size, t.Entry.MtimeNs);
            if (!gone.TryGetValue(key, out var list))
                gone[key] = list = [];
            list.Add(t);
        }
    }

    /// <summary>A root's target prefix: made when the target lacks it as a directory (what is there instead deleted first).</summary>
    private static void PlanPrefix(Comparison c, Walked s, ManifestItem? t)
    {
        if (t is { Entry.Kind: EntryKind.Directory })
            return;
        if (t is not null)
            c.Changes.Add(new PlanItem(PlanKind.Delete, s.Root, null, s.TargetPath));
        c.Changes.Add(new PlanItem(PlanKind.MakeDirectory, s.Root, s.Entry, s.TargetPath, New: t is null));
    }

    private void Compare(Comparison c, Walked s, ManifestItem? have, bool hashes, bool ownership)
    {
        var (r, e, tp) = (s.Root, s.Entry, s.TargetPath);
        bool kindDiffers = have is not null && have.Entry.Kind != e.Kind;
        if (kindDiffers)
            c.Changes.Add(new PlanItem(PlanKind.Delete, r, null, tp));
        var h = kindDiffers ? null : have;
        if (e.Kind == EntryKind.Directory)
        {
            // Created by this plan when the target had nothing there, or something else (deleted first).
            bool differs = h is null || Changed(e) || MetaDiffers(e, h.Entry, ownership) || XattrsDiffer(r, e, h);
            c.Directories.Add(new DirStep(r, e, tp, differs));
        }
        else if (c.LinkNames is { } names && e.Kind == EntryKind.File && e.LinkCount > 1)
        {
            names[(e.Device, e.Inode)] = names.GetValueOrDefault((e.Device, e.Inode)) + 1;
        }
        PlanItem? item = e.Kind switch
        {
            EntryKind.Directory => h is null ? new PlanItem(PlanKind.MakeDirectory, r, e, tp) : null,
            EntryKind.Symlink => h is null || !h.Entry.LinkTarget.AsSpan().SequenceEqual(e.LinkTarget)
                ? new PlanItem(PlanKind.Symlink, r, e, tp)
                : MetaItem(r, e, tp, h, ownership),
            _ => PlanFile(r, e, tp, h, have, hashes, ownership, c.Leaders),
        };
        if (item is { } it)
        {
            c.Changes.Add(have is null ? it with { New = true } : it);
            c.TouchedDirs.Add(tp.Parent);
        }
    }

    /// <summary>
    /// Directory metadata last and deepest first (reverse path order): adding children changes a directory's mtime.
    /// Worked out as the plan is enumerated (after everything else in it), not stored with the plan:
    /// <see cref="Comparison.TouchedDirs"/> is complete by then.
    /// </summary>
    private IEnumerable<PlanItem> DirectoryMetadata(Comparison c, bool ownership)
    {
        for (int r = _trees.Length - 1; r >= 0; r--)
        {
            var prefix = job.Roots[r].TargetPrefix;
            for (int i = c.Directories.Count - 1; i >= 0; i--)
            {
                var d = c.Directories[i];
                if (d.Root == r && (d.Differs || c.TouchedDirs.Contains(d.TargetPath)))
                    yield return new PlanItem(PlanKind.SetMetadata, r, d.Entry, d.TargetPath);
            }
            // The root itself is not in the walk, but it is part of the replica: its mode, owner, xattrs and mtime
            // (changed by every entry created in it) are set last of its tree, once.
            if (_trees[r].Lstat(RelPath.Root) is { } rs)
            {
                var re = new FileEntry(RelPath.Root, EntryKind.Directory, rs.Mode, rs.Uid, rs.Gid, 0, rs.MtimeNs);
                if (c.TouchedDirs.Contains(prefix) || c.PrefixHave[r] is not { } rh || MetaDiffers(re, rh.Entry, ownership))
                    yield return new PlanItem(PlanKind.SetMetadata, r, re, prefix);
            }
        }
    }
}
