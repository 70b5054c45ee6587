using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Understudy.Agent.Tests.Replication.Convergence;

/// <summary>
/// An independent picture of a tree: everything replication promises to carry — type, size, content (SHA-256), mode
/// with setuid/setgid/sticky, owner, ns mtime, symlink target, every xattr, hard-link groups (names of one inode within
/// the tree) and holes (data extents) — for the root and every entry below it. Nothing of the product is used to
/// read it, so <see cref="Compare"/> is a second opinion beside `verify`, not the product checking itself.
/// </summary>
internal sealed class TreeSnapshot
{
    internal sealed record Entry(char Type, uint Perms, uint Uid, uint Gid, long Size, long MtimeSec, uint MtimeNsec,
        string? LinkTarget, string? Sha256, string? Extents, string Xattrs, ulong Inode, uint Nlink);

    private TreeSnapshot(SortedDictionary<string, Entry> entries) => Entries = entries;

    /// <summary>Relative path ("." for the root) → entry.</summary>
    public SortedDictionary<string, Entry> Entries { get; }

    /// <summary>Reads <paramref name="root"/>; names for which <paramref name="ignore"/> says true are left out (with what is below them).</summary>
    public static TreeSnapshot Take(string root, Func<string, bool>? ignore = null)
    {
        var entries = new SortedDictionary<string, Entry>(StringComparer.Ordinal);
        Read(root, ".", entries);
        Walk(root, "", entries, ignore ?? (_ => false));
        return new TreeSnapshot(entries);
    }

    private static void Walk(string abs, string rel, SortedDictionary<string, Entry> into, Func<string, bool> ignore)
    {
        foreach (var path in Directory.GetFileSystemEntries(abs))
        {
            var name = Path.GetFileName(path);
            var r = rel.Length == 0 ? name : rel + "/" + name;
            if (ignore(r))
                continue;
            if (Read(path, r, into) == 'd')
                Walk(path, r, into, ignore);
        }
    }

    private static char Read(string abs, string rel, SortedDictionary<string, Entry> into)
    {
        var st = SnapshotLibc.Lstat(abs);
        char type = (st.Mode & 0xF000) switch
        {
            0x4000 => 'd',
            0x8000 => 'f',
            0xA000 => 'l',
            _ => 'o',
        };
        string? target = null, sha = null, extents = null;
        if (type == 'l')
        {
            target = new FileInfo(abs).LinkTarget;
        }
        else if (type == 'f')
        {
            using var h = File.OpenHandle(abs, FileMode.Open, FileAccess.Read);
            sha = Hash(h);
            extents = SnapshotLibc.DataExtents(h, st.Size);
        }
        // A directory's size and a symlink's mtime depend on the file system and on how the link was made.
        into[rel] = new Entry(type, st.Mode & 0xFFF, st.Uid, st.Gid, type == 'd' ? 0 : st.Size, type == 'l' ? 0 : st.MtimeSec,
            type == 'l' ? 0 : st.MtimeNsec, target, sha, extents, SnapshotLibc.Xattrs(abs), st.Inode, st.Nlink);
        return type;
    }

    private static string Hash(SafeFileHandle h)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buf = new byte[1 << 16];
        long at = 0;
        int n;
        while ((n = RandomAccess.Read(h, buf, at)) > 0)
        {
            sha.AppendData(buf, 0, n);
            at += n;
        }
        return Convert.ToHexString(sha.GetHashAndReset())[..16];
    }

    /// <summary>
    /// Every difference of <paramref name="target"/> from <paramref name="source"/>, one line each, named by kind:
    /// missing, extra, type, size, content, mode, owner, mtime, symlink, xattrs, holes, links.
    /// </summary>
    public static List<string> Compare(TreeSnapshot source, TreeSnapshot target)
    {
        var diffs = new List<string>();
        foreach (var (rel, s) in source.Entries)
        {
            if (!target.Entries.TryGetValue(rel, out var t))
            {
                diffs.Add($"missing  {rel} ({s.Type})");
                continue;
            }
            if (s.Type != t.Type)
            {
                diffs.Add($"type     {rel}: {s.Type} vs {t.Type}");
                continue;
            }
            if (s.Size != t.Size)
                diffs.Add($"size     {rel}: {s.Size} vs {t.Size}");
            else if (s.Sha256 != t.Sha256)
                diffs.Add($"content  {rel}");
            if (s.Perms != t.Perms && s.Type != 'l')
                diffs.Add($"mode     {rel}: {Convert.ToString(s.Perms, 8)} vs {Convert.ToString(t.Perms, 8)}");
            if (s.Uid != t.Uid || s.Gid != t.Gid)
                diffs.Add($"owner    {rel}: {s.Uid}:{s.Gid} vs {t.Uid}:{t.Gid}");
            if (s.MtimeSec != t.MtimeSec || s.MtimeNsec != t.MtimeNsec)
                diffs.Add($"mtime    {rel}: {s.MtimeSec}.{s.MtimeNsec:D9} vs {t.MtimeSec}.{t.MtimeNsec:D9}");
            if (s.LinkTarget != t.LinkTarget)
                diffs.Add($"symlink  {rel}: {s.LinkTarget} vs {t.LinkTarget}");
            if (s.Xattrs != t.Xattrs)
                diffs.Add($"xattrs   {rel}: [{s.Xattrs.Replace('\n', ' ')}] vs [{t.Xattrs.Replace('\n', ' ')}]");
            if (s.Size == t.Size && FilledHoles(s, t))
                diffs.Add($"holes    {rel}: data {s.Extents} vs {t.Extents}");
        }
        foreach (var (rel, t) in target.Entries)
        {
            if (!source.Entries.ContainsKey(rel))
                diffs.Add($"extra    {rel} ({t.Type})");
        }
        diffs.AddRange(LinkGroupDifferences(source, target));
        return diffs;
    }

    /// <summary>
    /// The target holds data where the source has a hole, by the product's documented measure (docs/cli.md, verify's
    /// `holes`): at least 1 MiB and 1/64 of the file more data than the source. Holes smaller than a delta block, and
    /// those of files small enough to travel in one frame, are written as zeros by design.
    /// </summary>
    private static bool FilledHoles(Entry s, Entry t)
    {
        long extra = DataBytes(t.Extents) - DataBytes(s.Extents);
        return extra >= Math.Max(1L << 20, s.Size / 64);
    }

    private static long DataBytes(string? extents)
    {
        long n = 0;
        foreach (var range in (extents ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var ends = range.Split('-');
            n += long.Parse(ends[1], System.Globalization.CultureInfo.InvariantCulture) - long.Parse(ends[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        return n;
    }

    /// <summary>Names that are one file on one side must be one file on the other, and only those.</summary>
    private static IEnumerable<string> LinkGroupDifferences(TreeSnapshot source, TreeSnapshot target)
    {
        var sg = Groups(source);
        var tg = Groups(target);
        foreach (var (rel, s) in source.Entries)
        {
            if (s.Type != 'f' || !target.Entries.TryGetValue(rel, out var t) || t.Type != 'f')
                continue;
            var sNames = sg[s.Inode];
            var tNames = tg[t.Inode].Where(source.Entries.ContainsKey).ToList();
            if (!sNames.SequenceEqual(tNames) && string.CompareOrdinal(rel, sNames[0]) == 0)
                yield return $"links    {rel}: one file with [{string.Join(", ", sNames)}] vs [{string.Join(", ", tNames)}]";
        }
    }

    private static Dictionary<ulong, List<string>> Groups(TreeSnapshot tree)
    {
        var groups = new Dictionary<ulong, List<string>>();
        foreach (var (rel, e) in tree.Entries)
        {
            if (e.Type != 'f')
                continue;
            if (!groups.TryGetValue(e.Inode, out var names))
                groups[e.Inode] = names = [];
            names.Add(rel); // entries are sorted, so each group is too
        }
        return groups;
    }
}
