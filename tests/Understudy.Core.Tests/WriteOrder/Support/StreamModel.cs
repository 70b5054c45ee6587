using Understudy.Core.WriteOrder;
using static Understudy.Core.Tests.WriteOrder.Support.SendStreamWriter;

namespace Understudy.Core.Tests.WriteOrder.Support;

/// <summary>Generates a valid random point stream against a small base tree (made by <see cref="MakeBase"/>),
/// keeping a model of which paths exist so every command fits the tree as btrfs send's would: new files under a
/// temporary "o…" name then renamed into place, writes and truncates, renames over files, links, unlinks, mkdir,
/// rmdir of empty directories, chmod, xattrs, symlinks, and utimes of every path at the end (as send ends an inode).</summary>
internal sealed class StreamModel
{
    private readonly Random _rnd;
    private readonly List<string> _files = ["f0", "f1", "f2", "d0/f3", "d1/f4"];
    private readonly List<string> _dirs = ["d0", "d1"];
    private readonly List<string> _links = [];
    private int _n;

    public StreamModel(int seed) => _rnd = new Random(seed);

    public static void MakeBase(string root)
    {
        Directory.CreateDirectory(Path.Combine(root, "d0"));
        Directory.CreateDirectory(Path.Combine(root, "d1"));
        foreach (var f in new[] { "f0", "f1", "f2", "d0/f3", "d1/f4" })
            File.WriteAllBytes(Path.Combine(root, f), Enumerable.Range(0, 5000).Select(i => (byte)(i * 7 + f.Length)).ToArray());
    }

    public byte[] Generate(int ops)
    {
        var w = new SendStreamWriter();
        w.Command(SendCommandKind.Snapshot, (SendAttribute.Path, S("p")), (SendAttribute.Uuid, Uuid(Guid.NewGuid())), (SendAttribute.Ctransid, U64(2)),
            (SendAttribute.CloneUuid, Uuid(Guid.NewGuid())), (SendAttribute.CloneCtransid, U64(1)));
        for (int i = 0; i < ops; i++)
            Step(w);
        foreach (var p in _files.Concat(_dirs).Concat(_links).OrderByDescending(p => p.Length))
            w.Command(SendCommandKind.Utimes, (SendAttribute.Path, S(p)), (SendAttribute.Atime, Time(1_600_000_000, 1)), (SendAttribute.Mtime, Time(1_600_000_000 + p.Length, 5)), (SendAttribute.Ctime, Time(1, 0)));
        w.Command(SendCommandKind.End);
        return w.ToArray();
    }

    private string Dir() => _dirs.Count == 0 || _rnd.Next(3) == 0 ? "" : _dirs[_rnd.Next(_dirs.Count)];

    private string NewName() => Join(Dir(), $"n{_n++}");

    private static string Join(string dir, string name) => dir.Length == 0 ? name : dir + "/" + name;

    private byte[] Data()
    {
        var b = new byte[_rnd.Next(1, 3000)];
        _rnd.NextBytes(b);
        return b;
    }

    private bool Empty(string dir) => !_files.Concat(_dirs).Concat(_links).Any(p => p.StartsWith(dir + "/", StringComparison.Ordinal));

    private void Step(SendStreamWriter w)
    {
        string? f = _files.Count == 0 ? null : _files[_rnd.Next(_files.Count)];
        switch (_rnd.Next(12))
        {
            case 0 or 1:
                string tmp = $"o{_n++}-1-0";
                string name = NewName();
                w.Command(SendCommandKind.MkFile, (SendAttribute.Path, S(tmp)), (SendAttribute.Ino, U64(100)));
                w.Command(SendCommandKind.Rename, (SendAttribute.Path, S(tmp)), (SendAttribute.PathTo, S(name)));
                w.Command(SendCommandKind.Write, (SendAttribute.Path, S(name)), (SendAttribute.FileOffset, U64(0)), (SendAttribute.Data, Data()));
                _files.Add(name);
                break;
            case 2 or 3 when f is not null:
                w.Command(SendCommandKind.Write, (SendAttribute.Path, S(f)), (SendAttribute.FileOffset, U64((ulong)_rnd.Next(8000))), (SendAttribute.Data, Data()));
                break;
            case 4 when f is not null:
                w.Command(SendCommandKind.Truncate, (SendAttribute.Path, S(f)), (SendAttribute.Size, U64((ulong)_rnd.Next(9000))));
                break;
            case 5 when f is not null:
                string to = _rnd.Next(3) == 0 && _files.Count > 1 ? _files[_rnd.Next(_files.Count)] : NewName();
                if (to == f)
                    break;
                w.Command(SendCommandKind.Rename, (SendAttribute.Path, S(f)), (SendAttribute.PathTo, S(to)));
                _files.Remove(f);
                if (!_files.Contains(to))
                    _files.Add(to);
                break;
            case 6 when f is not null:
                string link = NewName();
                w.Command(SendCommandKind.Link, (SendAttribute.Path, S(link)), (SendAttribute.PathLink, S(f)));
                _files.Add(link);
                break;
            case 7 when f is not null:
                w.Command(SendCommandKind.Unlink, (SendAttribute.Path, S(f)));
                _files.Remove(f);
                break;
            case 8:
                string d = NewName();
                w.Command(SendCommandKind.MkDir, (SendAttribute.Path, S(d)), (SendAttribute.Ino, U64(200)));
                _dirs.Add(d);
                break;
            case 9:
                var empty = _dirs.Where(Empty).ToList();
                if (empty.Count == 0)
                    break;
                string e = empty[_rnd.Next(empty.Count)];
                w.Command(SendCommandKind.Rmdir, (SendAttribute.Path, S(e)));
                _dirs.Remove(e);
                break;
            case 10 when f is not null:
                w.Command(SendCommandKind.Chmod, (SendAttribute.Path, S(f)), (SendAttribute.Mode, U64((ulong)_rnd.Next(0x100, 0x1FF))));
                if (_rnd.Next(2) == 0)
                    w.Command(SendCommandKind.SetXattr, (SendAttribute.Path, S(f)), (SendAttribute.XattrName, S("user.k" + _rnd.Next(2))), (SendAttribute.XattrData, S("v" + _rnd.Next(1000))));
                else
                    w.Command(SendCommandKind.RemoveXattr, (SendAttribute.Path, S(f)), (SendAttribute.XattrName, S("user.k" + _rnd.Next(2))));
                break;
            case 11:
                string s = NewName();
                w.Command(SendCommandKind.Symlink, (SendAttribute.Path, S(s)), (SendAttribute.Ino, U64(300)), (SendAttribute.PathLink, S("t" + _n)));
                _links.Add(s);
                break;
        }
    }
}
