using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Posix;

namespace Understudy.Agent.Source;

internal sealed record Difference(string Path, string Kind, string Detail);

internal sealed record VerifyReport(string Job, bool Checksum, DateTimeOffset At, long EntriesChecked, IReadOnlyList<Difference> Differences, bool Repaired)
{
    public bool Identical => Differences.Count == 0;
}

/// <summary>Compares the source roots with the target manifest: missing, extra, content and metadata differences.</summary>
internal static class VerifyEngine
{
    public const string Missing = "missing-on-target";
    public const string Extra = "extra-on-target";
    public const string Content = "content-differs";
    public const string Metadata = "metadata-differs";

    /// <summary>An entry the target cannot take (<see cref="Core.Protocol.ReceiverLimits"/>): left out, or sent without its
    /// extended attributes; the detail says why.</summary>
    public const string NotProtected = "not-protected";

    public static async Task<VerifyReport> RunAsync(JobDefinition job, SourceSession session, bool checksum, TimeProvider time, CancellationToken ct)
    {
        var target = new Dictionary<RelPath, Core.Protocol.ManifestItem>();
        await foreach (var item in session.GetManifestAsync(RelPath.Root, checksum, ct))
            target[item.Entry.Path] = item;
        bool ownership = session.Opened.PreservesOwnership;
        var diffs = new List<Difference>();
        var seen = new HashSet<RelPath>();
        long checkedCount = 0;
        foreach (var root in job.Roots)
        {
            using var tree = FsTree.Open(root.Path, create: false);
            if (!root.TargetPrefix.IsRoot)
                seen.Add(root.TargetPrefix);
            foreach (var e in JobWalk.Included(job, tree, root.TargetPrefix, onUnprotected: (tp, why) => diffs.Add(new Difference(tp.ToString(), NotProtected, why))))
            {
                ct.ThrowIfCancellationRequested();
                checkedCount++;
                var tp = e.Path.Rebase(RelPath.Root, root.TargetPrefix);
                seen.Add(tp);
                if (XattrProblem(tree, e) is { } why)
                {
                    diffs.Add(new Difference(tp.ToString(), NotProtected, why));
                    continue;
                }
                if (!target.TryGetValue(tp, out var have))
                {
                    diffs.Add(new Difference(tp.ToString(), Missing, $"{Kind(e.Kind)} is not on the target"));
                    continue;
                }
                var t = have.Entry;
                if (t.Kind != e.Kind)
                    diffs.Add(new Difference(tp.ToString(), Content, $"source has a {Kind(e.Kind)}, target a {Kind(t.Kind)}"));
                else if (e.Kind == EntryKind.File && t.Size != e.Size)
                    diffs.Add(new Difference(tp.ToString(), Content, $"size {e.Size} on source, {t.Size} on target"));
                else if (e.Kind == EntryKind.Symlink && !t.LinkTarget.AsSpan().SequenceEqual(e.LinkTarget))
                    diffs.Add(new Difference(tp.ToString(), Content, "symlink target differs"));
                else if (checksum && e.Kind == EntryKind.File && have.Hash is { } th && SafeHash(tree, e.Path) is { } sh && sh != th)
                    diffs.Add(new Difference(tp.ToString(), Content, "content hash differs"));
                else if (MirrorEngine.MetaDiffers(e, t, ownership))
                    diffs.Add(new Difference(tp.ToString(), Metadata, MetaDetail(e, t, ownership)));
            }
        }
        foreach (var k in target.Keys.Where(k => !seen.Contains(k)).OrderBy(k => k))
        {
            if (diffs.Count > 0 && diffs[^1].Kind == Extra && k.IsUnder(RelPath.Parse(System.Text.Encoding.UTF8.GetBytes(diffs[^1].Path))))
                continue;
            diffs.Add(new Difference(k.ToString(), Extra, $"{Kind(target[k].Entry.Kind)} is not on the source"));
        }
        return new VerifyReport(job.Name, checksum, time.GetUtcNow(), checkedCount, diffs, false);
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

    private static string MetaDetail(FileEntry s, FileEntry t, bool ownership)
    {
        var parts = new List<string>();
        if (s.Kind != EntryKind.Symlink && s.Mode != t.Mode)
            parts.Add($"mode {Convert.ToString(s.Mode, 8)} vs {Convert.ToString(t.Mode, 8)}");
        if (ownership && (s.Uid != t.Uid || s.Gid != t.Gid))
            parts.Add($"owner {s.Uid}:{s.Gid} vs {t.Uid}:{t.Gid}");
        if (s.MtimeNs != t.MtimeNs)
            parts.Add("mtime");
        return string.Join(", ", parts);
    }
}
