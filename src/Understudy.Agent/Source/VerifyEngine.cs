using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Source;

/// <summary>The kinds of difference a verify names, one per thing a mirror preserves.</summary>
internal static class DifferenceKind
{
    public const string Missing = "missing";
    public const string Extra = "extra";
    public const string Type = "type";
    public const string Size = "size";
    public const string Content = "content";
    public const string Symlink = "symlink";
    public const string Mode = "mode";
    public const string Owner = "owner";
    public const string Mtime = "mtime";
    public const string Xattrs = "xattrs";
    public const string Links = "links";
    public const string Holes = "holes";

    /// <summary>An entry the target cannot take (<see cref="Core.Protocol.ReceiverLimits"/>): left out, or sent without its
    /// extended attributes; the detail says why.</summary>
    public const string NotProtected = "not-protected";
}

/// <summary>
/// Compares the source roots with the target's manifest (which carries each entry's xattr digests and allocated
/// bytes): everything a mirror preserves — type, size, content (checksum), symlink target, mode with the set-ID and
/// sticky bits, owner (when the target preserves it), mtime to the nanosecond, xattrs, hard-link groups and holes —
/// each kind of difference reported by name, one row per path and kind.
/// </summary>
internal static partial class VerifyEngine
{
    public static async Task<VerifyReport> RunAsync(JobDefinition job, SourceSession session, bool checksum, TimeProvider time, CancellationToken ct)
    {
        var target = new Dictionary<RelPath, ManifestItem>();
        await foreach (var item in session.GetManifestAsync(RelPath.Root, checksum, withXattrs: true, ct))
            target[item.Entry.Path] = item;
        bool ownership = session.Opened.PreservesOwnership;
        var trees = new FsTree[job.Roots.Count];
        try
        {
            var walked = new List<FileEntry>[trees.Length];
            var diffs = new List<Difference>();
            for (int r = 0; r < trees.Length; r++)
            {
                trees[r] = FsTree.Open(job.Roots[r].Path, create: false);
                walked[r] = [.. JobWalk.Included(job, trees[r], job.Roots[r].TargetPrefix,
                    onUnprotected: (tp, why) => diffs.Add(new Difference(tp.ToString(), DifferenceKind.NotProtected, why)))];
            }
            var links = new LinkGroups(job, walked, target);
            var seen = new HashSet<RelPath>();
            long checkedCount = 0;
            for (int r = 0; r < trees.Length; r++)
            {
                var prefix = job.Roots[r].TargetPrefix;
                if (!prefix.IsRoot)
                    seen.Add(prefix);
                foreach (var e in walked[r])
                {
                    ct.ThrowIfCancellationRequested();
                    checkedCount++;
                    var tp = e.Path.Rebase(RelPath.Root, prefix);
                    seen.Add(tp);
                    if (XattrProblem(trees[r], e) is { } why)
                    {
                        diffs.Add(new Difference(tp.ToString(), DifferenceKind.NotProtected, why));
                        continue;
                    }
                    Compare(trees[r], e, tp, target.GetValueOrDefault(tp), checksum, ownership, links, (kind, detail) => diffs.Add(new Difference(tp.ToString(), kind, detail)));
                }
            }
            AddExtras(target, seen, diffs);
            return new VerifyReport(job.Name, checksum, time.GetUtcNow(), checkedCount, diffs, false);
        }
        finally
        {
            foreach (var t in trees)
                t?.Dispose();
        }
    }

    private static void Compare(FsTree tree, FileEntry e, RelPath tp, ManifestItem? have, bool checksum, bool ownership, LinkGroups links, Action<string, string> add)
    {
        if (have is null)
        {
            add(DifferenceKind.Missing, $"{Kind(e.Kind)} is not on the target");
            return;
        }
        var t = have.Entry;
        if (t.Kind != e.Kind)
        {
            add(DifferenceKind.Type, $"a {Kind(e.Kind)} on the source, a {Kind(t.Kind)} on the target");
            return;
        }
        if (e.Kind == EntryKind.File)
        {
            if (t.Size != e.Size)
                add(DifferenceKind.Size, $"{e.Size} bytes on the source, {t.Size} on the target");
            else
            {
                if (checksum && have.Hash is { } th && SafeHash(tree, e.Path) is { } sh && sh != th)
                    add(DifferenceKind.Content, "content hash differs");
                if (Allocation.FilledHoles(e, t, () => Allocation.DataBytes(tree, e)) is { } holes)
                    add(DifferenceKind.Holes, holes);
            }
            if (links.Describe(tp, e, t) is { } linkDetail)
                add(DifferenceKind.Links, linkDetail);
        }
        else if (e.Kind == EntryKind.Symlink && !t.LinkTarget.AsSpan().SequenceEqual(e.LinkTarget))
        {
            add(DifferenceKind.Symlink, $"points to '{RelPath.Display(e.LinkTarget!)}' on the source, '{RelPath.Display(t.LinkTarget ?? [])}' on the target");
        }
        if (e.Kind != EntryKind.Symlink && e.Mode != t.Mode)
            add(DifferenceKind.Mode, $"{Octal(e.Mode)} on the source, {Octal(t.Mode)} on the target");
        if (ownership && (e.Uid != t.Uid || e.Gid != t.Gid))
            add(DifferenceKind.Owner, $"{e.Uid}:{e.Gid} on the source, {t.Uid}:{t.Gid} on the target");
        if (e.MtimeNs != t.MtimeNs)
            add(DifferenceKind.Mtime, $"{FormatNs(e.MtimeNs)} on the source, {FormatNs(t.MtimeNs)} on the target");
        if (have.Xattrs is { } targetXattrs && Mirror.ManifestScan.ReadXattrs(tree, e) is { } sourceXattrs
            && XattrDigest.Describe(sourceXattrs, targetXattrs) is { } xattrDetail)
            add(DifferenceKind.Xattrs, xattrDetail);
    }

    /// <summary>What the target has that no source entry accounts for; below an extra directory only the directory.</summary>
    private static void AddExtras(Dictionary<RelPath, ManifestItem> target, HashSet<RelPath> seen, List<Difference> diffs)
    {
        RelPath? lastExtra = null;
        foreach (var k in target.Keys.Where(k => !seen.Contains(k)).OrderBy(k => k))
        {
            if (lastExtra is { } le && k.IsUnder(le))
                continue;
            lastExtra = k;
            diffs.Add(new Difference(k.ToString(), DifferenceKind.Extra, $"{Kind(target[k].Entry.Kind)} is not on the source"));
        }
    }

    private static string? XattrProblem(FsTree tree, FileEntry e)
    {
        try
        {
            return e.Kind == EntryKind.Symlink ? null : Core.Protocol.ReceiverLimits.XattrProblem(tree.ReadXattrs(e.Path));
        }
        catch (PosixException)
        {
            return null;
        }
    }

    private static UInt128? SafeHash(FsTree tree, RelPath p)
    {
        try
        {
            return Mirror.ManifestScan.HashFile(tree, p);
        }
        catch (PosixException)
        {
            return null;
        }
    }

    private static string Kind(EntryKind k) => k switch
    {
        EntryKind.Directory => "directory",
        EntryKind.Symlink => "symlink",
        _ => "file",
    };

    private static string Octal(uint mode) => Convert.ToString(mode, 8).PadLeft(4, '0');

    /// <summary>UTC to the nanosecond: two mtimes that differ below a microsecond must not print alike.</summary>
    private static string FormatNs(long ns)
    {
        long sec = Math.DivRem(ns, 1_000_000_000L, out long frac);
        if (frac < 0)
        {
            sec--;
            frac += 1_000_000_000L;
        }
        return $"{DateTimeOffset.FromUnixTimeSeconds(sec).UtcDateTime:yyyy-MM-dd HH:mm:ss}.{frac:D9}Z";
    }
}
