using System.Text;

namespace Understudy.Core.Tests.WriteOrder.Support;

/// <summary>Everything the write-order mode promises to reproduce about a tree, by relative path: type,
/// permission bits, owner, size, content, mtime (not for directories whose mtime the walk itself may not
/// change, but btrfs send sets them, so they are compared too), symlink target, xattrs (user.*), and which
/// paths are hard links of one inode. <see cref="Diff"/> names the first differences.</summary>
internal sealed record TreeImage(SortedDictionary<string, string> Entries)
{
    public static TreeImage Take(string root, bool mtimes = true)
    {
        var entries = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var inodes = new Dictionary<ulong, string>();
        Walk(root, "", entries, inodes, mtimes);
        return new TreeImage(entries);
    }

    private static void Walk(string root, string rel, SortedDictionary<string, string> entries, Dictionary<ulong, string> inodes, bool mtimes)
    {
        string full = rel.Length == 0 ? root : Path.Combine(root, rel);
        foreach (var child in Directory.EnumerateFileSystemEntries(full).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(child);
            string r = rel.Length == 0 ? name : rel + "/" + name;
            var st = Stat(child);
            var sb = new StringBuilder();
            sb.Append($"type={st.Type} mode={Convert.ToString(st.Mode, 8)} uid={st.Uid} gid={st.Gid}");
            if (mtimes)
                sb.Append($" mtime={st.MtimeNs}");
            if (st.Type == "file")
            {
                sb.Append($" size={st.Size} sha={Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(child)))[..16]}");
                if (st.Nlink > 1)
                {
                    // A hard-link group is named by its first path in walk order, the same on both trees.
                    if (!inodes.TryGetValue(st.Ino, out var first))
                        inodes[st.Ino] = first = r;
                    sb.Append($" links={st.Nlink} group={first}");
                }
            }
            if (st.Type == "symlink")
                sb.Append($" target={new FileInfo(child).LinkTarget}");
            foreach (var (k, v) in Xattrs(child))
                sb.Append($" xattr:{k}={v}");
            entries[r] = sb.ToString();
            if (st.Type == "dir")
                Walk(root, r, entries, inodes, mtimes);
        }
    }

    public static IEnumerable<string> Diff(TreeImage expected, TreeImage actual)
    {
        foreach (var (k, v) in expected.Entries)
        {
            if (!actual.Entries.TryGetValue(k, out var a))
                yield return $"missing {k}: {v}";
            else if (a != v)
                yield return $"differs {k}:\n  expected {v}\n  actual   {a}";
        }
        foreach (var k in actual.Entries.Keys)
        {
            if (!expected.Entries.ContainsKey(k))
                yield return $"extra {k}: {actual.Entries[k]}";
        }
    }

    private readonly record struct St(string Type, uint Mode, uint Uid, uint Gid, long Size, long MtimeNs, ulong Ino, uint Nlink);

    private static unsafe St Stat(string path)
    {
        Understudy.Core.Posix.StatxBuf b;
        var z = Understudy.Core.Posix.Sys.Z(Encoding.UTF8.GetBytes(path));
        fixed (byte* p = z)
        {
            if (statx(-100, p, 0x100, 0x7ff, &b) != 0)
                throw new IOException($"statx {path} failed");
        }
        string type = (b.Mode & 0xF000) switch { 0x8000 => "file", 0x4000 => "dir", 0xA000 => "symlink", 0x1000 => "fifo", 0xC000 => "sock", _ => "other" };
        return new St(type, b.Mode & 0xFFFu, b.Uid, b.Gid, (long)b.Size, b.MtimeSec * 1_000_000_000L + b.MtimeNsec, b.Ino, b.Nlink);
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern unsafe int statx(int dirfd, byte* path, int flags, uint mask, Understudy.Core.Posix.StatxBuf* buf);

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern unsafe nint llistxattr(byte* path, byte* list, nuint size);

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern unsafe nint lgetxattr(byte* path, byte* name, byte* value, nuint size);

    private static unsafe List<(string, string)> Xattrs(string path)
    {
        var result = new List<(string, string)>();
        var z = Understudy.Core.Posix.Sys.Z(Encoding.UTF8.GetBytes(path));
        var list = new byte[65536];
        nint n;
        fixed (byte* p = z)
        fixed (byte* l = list)
            n = llistxattr(p, l, (nuint)list.Length);
        if (n <= 0)
            return result;
        foreach (var name in Encoding.UTF8.GetString(list, 0, (int)n).Split('\0', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal))
        {
            if (!name.StartsWith("user.", StringComparison.Ordinal))
                continue;
            var value = new byte[65536];
            nint m;
            fixed (byte* p = z)
            fixed (byte* nm = Understudy.Core.Posix.Sys.Z(Encoding.UTF8.GetBytes(name)))
            fixed (byte* v = value)
                m = lgetxattr(p, nm, v, (nuint)value.Length);
            result.Add((name, m < 0 ? "?" : Convert.ToHexString(value, 0, (int)m)));
        }
        return result;
    }
}
