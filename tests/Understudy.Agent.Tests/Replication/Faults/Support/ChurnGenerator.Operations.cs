using System.Globalization;
using System.Text;

namespace Understudy.Agent.Tests.Replication.Faults.Support;

internal sealed partial class ChurnGenerator
{
    private static readonly UnixFileMode[] FileModes =
    [
        (UnixFileMode)Convert.ToInt32("644", 8), (UnixFileMode)Convert.ToInt32("600", 8),
        (UnixFileMode)Convert.ToInt32("640", 8), (UnixFileMode)Convert.ToInt32("755", 8),
    ];

    private static readonly UnixFileMode[] DirModes =
    [
        (UnixFileMode)Convert.ToInt32("755", 8), (UnixFileMode)Convert.ToInt32("700", 8), (UnixFileMode)Convert.ToInt32("750", 8),
    ];

    private static readonly int[] Owners = [0, 1001, 2002];

    /// <summary>Does <paramref name="op"/> once; null when the tree has nothing it applies to.</summary>
    private string? Apply(ChurnOp op)
    {
        var entries = Walk(Root);
        var files = entries.Where(e => e.Kind == Kind.File).ToList();
        var dirs = entries.Where(e => e.Kind == Kind.Directory).ToList();
        var mutableDirs = dirs.Where(d => !Keep.Contains(d.Rel)).ToList(); // may be moved, replaced or removed
        switch (op)
        {
            case ChurnOp.Create:
                {
                    var rel = Join(PickParent(entries), FreshName("f"));
                    File.WriteAllBytes(Abs(rel), RandomBytes(RandomSize()));
                    return rel;
                }
            case ChurnOp.Write:
                {
                    if (Pick(files) is not { } f)
                        return null;
                    using var s = new FileStream(Abs(f.Rel), FileMode.Open, FileAccess.Write);
                    long at = s.Length == 0 ? 0 : _rng.NextInt64(s.Length);
                    var data = RandomBytes(_rng.Next(1, 16384));
                    s.Position = at;
                    s.Write(data);
                    return $"{f.Rel} @{at} +{data.Length}";
                }
            case ChurnOp.Truncate:
                {
                    if (Pick(files) is not { } f)
                        return null;
                    long size = new FileInfo(Abs(f.Rel)).Length;
                    // Mostly shrink; sometimes extend, which leaves a hole.
                    long to = _rng.Next(4) == 0 ? size + _rng.Next(1, 65536) : (size == 0 ? 0 : _rng.NextInt64(size));
                    ChurnLibc.Truncate(Abs(f.Rel), to);
                    return $"{f.Rel} {size}->{to}";
                }
            case ChurnOp.Append:
                {
                    if (Pick(files) is not { } f)
                        return null;
                    using var s = new FileStream(Abs(f.Rel), FileMode.Append, FileAccess.Write);
                    var data = RandomBytes(_rng.Next(1, 8192));
                    s.Write(data);
                    return $"{f.Rel} +{data.Length}";
                }
            case ChurnOp.Rename:
                {
                    var movable = entries.Where(e => e.Kind != Kind.Directory).ToList();
                    if (Pick(movable) is not { } f)
                        return null;
                    // A quarter of file renames replace another file (rename(2) over an existing name).
                    var others = files.Where(o => o.Rel != f.Rel).ToList();
                    var to = _rng.Next(4) == 0 && others.Count > 0 ? others[_rng.Next(others.Count)].Rel : Join(PickParent(entries), FreshName("r"));
                    ChurnLibc.Rename(Abs(f.Rel), Abs(to));
                    return $"{f.Rel} -> {to}";
                }
            case ChurnOp.RenameDirectory:
                {
                    if (Pick(mutableDirs) is not { } d)
                        return null;
                    var parents = dirs.Where(p => p.Rel != d.Rel && !p.Rel.StartsWith(d.Rel + "/", StringComparison.Ordinal)).Select(p => p.Rel).Prepend("").ToList();
                    var to = Join(parents[_rng.Next(parents.Count)], FreshName("rd"));
                    ChurnLibc.Rename(Abs(d.Rel), Abs(to));
                    return $"{d.Rel}/ -> {to}/";
                }
            case ChurnOp.MoveIn:
                {
                    var outside = OutsideItem();
                    var to = Join(PickParent(entries), FreshName("in"));
                    ChurnLibc.Rename(Path.Combine(Outside, outside), Abs(to));
                    return $"(outside)/{outside} -> {to}";
                }
            case ChurnOp.MoveOut:
                {
                    var movable = entries.Where(e => e.Kind != Kind.Directory || (!Keep.Contains(e.Rel) && entries.Count(c => c.Rel.StartsWith(e.Rel + "/", StringComparison.Ordinal)) <= 8)).ToList();
                    if (Pick(movable) is not { } e)
                        return null;
                    var name = FreshName("out");
                    ChurnLibc.Rename(Abs(e.Rel), Path.Combine(Outside, name));
                    return $"{e.Rel}{(e.Kind == Kind.Directory ? "/" : "")} -> (outside)/{name}";
                }
            case ChurnOp.Delete:
                {
                    if (Pick(entries.Where(e => e.Kind != Kind.Directory).ToList()) is not { } f)
                        return null;
                    File.Delete(Abs(f.Rel));
                    return f.Rel;
                }
            case ChurnOp.Mkdir:
                {
                    // Half the time a chain a/b/c with a file written at once in its deepest directory:
                    // the race an inotify watcher must not lose.
                    var rel = Join(PickParent(entries), FreshName("d"));
                    if (_rng.Next(2) == 0)
                    {
                        Directory.CreateDirectory(Abs(rel));
                        return rel + "/";
                    }
                    var deep = $"{rel}/{FreshName("d")}/{FreshName("d")}";
                    Directory.CreateDirectory(Abs(deep));
                    var file = $"{deep}/{FreshName("f")}";
                    File.WriteAllBytes(Abs(file), RandomBytes(_rng.Next(1, 2048)));
                    return $"{deep}/ + {file}";
                }
            case ChurnOp.Rmdir:
                {
                    var empty = mutableDirs.Where(d => !entries.Any(e => e.Rel.StartsWith(d.Rel + "/", StringComparison.Ordinal))).ToList();
                    if (Pick(empty) is not { } d)
                        return null;
                    Directory.Delete(Abs(d.Rel));
                    return d.Rel + "/";
                }
            case ChurnOp.RemoveTree:
                {
                    // Small subtrees only (at most 8 entries): rm -r of half the tree would leave little to replicate.
                    var full = mutableDirs.Where(d => entries.Count(e => e.Rel.StartsWith(d.Rel + "/", StringComparison.Ordinal)) is > 0 and <= 8).ToList();
                    if (Pick(full) is not { } d)
                        return null;
                    int n = entries.Count(e => e.Rel.StartsWith(d.Rel + "/", StringComparison.Ordinal));
                    Directory.Delete(Abs(d.Rel), recursive: true); // rm -r: unlinks symlinks, never follows them
                    return $"{d.Rel}/ ({n.ToString(CultureInfo.InvariantCulture)} entries)";
                }
            case ChurnOp.Chmod:
                {
                    var targets = entries.Where(e => e.Kind != Kind.Symlink).ToList();
                    if (Pick(targets) is not { } e)
                        return null;
                    var modes = e.Kind == Kind.Directory ? DirModes : FileModes;
                    var mode = modes[_rng.Next(modes.Length)];
                    File.SetUnixFileMode(Abs(e.Rel), mode);
                    return $"{e.Rel} {Convert.ToString((int)mode, 8)}";
                }
            case ChurnOp.Chown:
                {
                    if (!CanChown || Pick(entries) is not { } e)
                        return null;
                    int uid = Owners[_rng.Next(Owners.Length)], gid = Owners[_rng.Next(Owners.Length)];
                    ChurnLibc.Lchown(Abs(e.Rel), uid, gid);
                    return $"{e.Rel} {uid}:{gid}";
                }
            case ChurnOp.Symlink:
                {
                    var parent = PickParent(entries);
                    // Relative to a sibling file when there is one, else dangling: both must arrive as written.
                    var siblings = files.Where(f => Path.GetDirectoryName(f.Rel) == parent.Replace('/', Path.DirectorySeparatorChar)).ToList();
                    var target = siblings.Count > 0 && _rng.Next(3) > 0 ? Path.GetFileName(siblings[_rng.Next(siblings.Count)].Rel) : "../nowhere/" + FreshName("x");
                    var rel = Join(parent, FreshName("l"));
                    File.CreateSymbolicLink(Abs(rel), target);
                    return $"{rel} -> {target}";
                }
            case ChurnOp.HardLink:
                {
                    if (Pick(files) is not { } f)
                        return null;
                    var rel = Join(PickParent(entries), FreshName("h"));
                    ChurnLibc.Link(Abs(f.Rel), Abs(rel));
                    return $"{rel} = {f.Rel}";
                }
            case ChurnOp.XattrSet:
                {
                    // user.* attributes are not allowed on symlinks.
                    var targets = entries.Where(e => e.Kind != Kind.Symlink).ToList();
                    if (Pick(targets) is not { } e)
                        return null;
                    var name = $"user.churn{_rng.Next(3).ToString(CultureInfo.InvariantCulture)}";
                    var value = Encoding.ASCII.GetBytes(_rng.NextInt64().ToString("x", CultureInfo.InvariantCulture));
                    ChurnLibc.SetXattr(Abs(e.Rel), name, value);
                    return $"{e.Rel} {name}";
                }
            case ChurnOp.XattrRemove:
                {
                    var withAttrs = entries.Where(e => e.Kind != Kind.Symlink)
                        .Select(e => (e.Rel, Names: ChurnLibc.ListUserXattrs(Abs(e.Rel)))).Where(x => x.Names.Count > 0).ToList();
                    if (withAttrs.Count == 0)
                        return null;
                    var (rel, names) = withAttrs[_rng.Next(withAttrs.Count)];
                    var name = names[_rng.Next(names.Count)];
                    ChurnLibc.RemoveXattr(Abs(rel), name);
                    return $"{rel} {name}";
                }
            case ChurnOp.RewriteKeepMtime:
                {
                    var nonEmpty = files.Where(f => new FileInfo(Abs(f.Rel)).Length > 0).ToList();
                    if (Pick(nonEmpty) is not { } f)
                        return null;
                    var st = Convergence.SnapshotLibc.Lstat(Abs(f.Rel));
                    using (var s = new FileStream(Abs(f.Rel), FileMode.Open, FileAccess.Write))
                    {
                        long at = _rng.NextInt64(s.Length);
                        s.Position = at;
                        s.Write(RandomBytes((int)Math.Min(s.Length - at, _rng.Next(1, 4096))));
                    }
                    ChurnLibc.SetTimes(Abs(f.Rel), st.MtimeSec, st.MtimeNsec);
                    return $"{f.Rel} (size {st.Size} and mtime kept)";
                }
            case ChurnOp.SparseGrow:
                {
                    if (Pick(files) is not { } f)
                        return null;
                    long size = new FileInfo(Abs(f.Rel)).Length;
                    long to = size + _rng.Next(65536, 4 << 20);
                    ChurnLibc.Truncate(Abs(f.Rel), to);
                    return $"{f.Rel} {size}->{to} (hole)";
                }
            case ChurnOp.RenameOntoEmptyDir:
                {
                    var empty = mutableDirs.Where(d => !entries.Any(e => e.Rel.StartsWith(d.Rel + "/", StringComparison.Ordinal))).ToList();
                    if (Pick(empty) is not { } onto)
                        return null;
                    var movable = mutableDirs.Where(d => d.Rel != onto.Rel && !onto.Rel.StartsWith(d.Rel + "/", StringComparison.Ordinal)).ToList();
                    if (Pick(movable) is not { } d)
                        return null;
                    ChurnLibc.Rename(Abs(d.Rel), Abs(onto.Rel));
                    return $"{d.Rel}/ -> {onto.Rel}/ (replaced an empty directory)";
                }
            case ChurnOp.WriteLinkThenUnlink:
                {
                    if (Pick(files) is not { } f)
                        return null;
                    var rel = Join(PickParent(entries), FreshName("h"));
                    ChurnLibc.Link(Abs(f.Rel), Abs(rel));
                    using (var s = new FileStream(Abs(rel), FileMode.Open, FileAccess.Write))
                    {
                        s.Position = s.Length == 0 ? 0 : _rng.NextInt64(s.Length);
                        s.Write(RandomBytes(_rng.Next(1, 2048)));
                    }
                    if (!TransientLinks)
                        return $"{rel} = {f.Rel}, written through {rel} (kept)";
                    File.Delete(Abs(rel));
                    return $"{rel} = {f.Rel}, written through {rel}, {rel} removed";
                }
            default:
                throw new ArgumentOutOfRangeException(nameof(op), op, null);
        }
    }

    /// <summary>
    /// Something in the outside directory to move in: an item moved out earlier, or a fresh file or
    /// small tree created outside for the purpose (its creation is not a change of the job).
    /// </summary>
    private string OutsideItem()
    {
        var items = Directory.GetFileSystemEntries(Outside).Select(p => Path.GetFileName(p)!).Order(StringComparer.Ordinal).ToList();
        if (items.Count > 0 && _rng.Next(3) > 0)
            return items[_rng.Next(items.Count)];
        var name = FreshName("o");
        var abs = Path.Combine(Outside, name);
        if (_rng.Next(2) == 0)
        {
            File.WriteAllBytes(abs, RandomBytes(RandomSize()));
            return name;
        }
        for (int i = 0; i < 3; i++)
        {
            var sub = Path.Combine(abs, FreshName("od"));
            Directory.CreateDirectory(sub);
            for (int j = 0; j < 3; j++)
                File.WriteAllBytes(Path.Combine(sub, FreshName("of")), RandomBytes(_rng.Next(0, 4096)));
        }
        return name;
    }
}
