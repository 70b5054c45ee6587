using System.Text;

namespace Understudy.Core.Tests.WriteOrder.Support;

/// <summary>Random changes to a real tree, of every kind a btrfs send stream carries: create, overwrite in
/// place, append, truncate, rename (files and directories, over existing files), hard link, unlink, mkdir,
/// rmdir, chmod, symlink, set and remove user xattrs, set mtime.</summary>
internal sealed class TreeChurn(string root, Random rnd)
{
    private int _n;

    public void Seed(int files)
    {
        for (int i = 0; i < 4; i++)
            Directory.CreateDirectory(Path.Combine(root, $"d{i}"));
        for (int i = 0; i < files; i++)
            Create();
    }

    public void Change(int ops)
    {
        for (int i = 0; i < ops; i++)
        {
            try
            {
                Step();
            }
            catch (IOException)
            {
                // a random op that does not fit the tree (a name already taken, a non-empty directory): skip it
            }
        }
    }

    private List<string> Files() => Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Where(f => new FileInfo(f).LinkTarget is null).Order(StringComparer.Ordinal).ToList();

    private List<string> Dirs() => Directory.EnumerateDirectories(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();

    private string AnyDir()
    {
        var d = Dirs();
        return d.Count == 0 || rnd.Next(4) == 0 ? root : d[rnd.Next(d.Count)];
    }

    private string Name() => $"n{_n++}";

    private byte[] Bytes(int max)
    {
        var b = new byte[rnd.Next(max)];
        rnd.NextBytes(b);
        return b;
    }

    private void Create() => File.WriteAllBytes(Path.Combine(AnyDir(), Name()), Bytes(rnd.Next(2) == 0 ? 3000 : 200_000));

    private void Step()
    {
        var files = Files();
        if (files.Count == 0)
        {
            Create();
            return;
        }
        string f = files[rnd.Next(files.Count)];
        switch (rnd.Next(14))
        {
            case 0 or 1:
                Create();
                break;
            case 2 or 3:
                using (var s = new FileStream(f, FileMode.Open))
                {
                    s.Position = rnd.NextInt64(s.Length + 1);
                    s.Write(Bytes(20_000));
                }
                break;
            case 4:
                File.AppendAllText(f, "more");
                break;
            case 5:
                using (var s = new FileStream(f, FileMode.Open))
                    s.SetLength(rnd.Next(2) == 0 ? s.Length / 2 : s.Length + 5000);
                break;
            case 6:
                string to = rnd.Next(3) == 0 ? files[rnd.Next(files.Count)] : Path.Combine(AnyDir(), Name());
                if (to != f)
                    File.Move(f, to, overwrite: true);
                break;
            case 7:
                BtrfsScratch.Run("ln", f, Path.Combine(AnyDir(), Name()));
                break;
            case 8:
                File.Delete(f);
                break;
            case 9:
                if (rnd.Next(2) == 0)
                    Directory.CreateDirectory(Path.Combine(AnyDir(), Name()));
                else
                {
                    var d = AnyDir();
                    if (d != root)
                    {
                        if (Directory.EnumerateFileSystemEntries(d).Any())
                            Directory.Move(d, Path.Combine(AnyDir(), Name()));
                        else
                            Directory.Delete(d);
                    }
                }
                break;
            case 10:
                File.SetUnixFileMode(f, (UnixFileMode)rnd.Next(0x100, 0x1FF));
                break;
            case 11:
                File.CreateSymbolicLink(Path.Combine(AnyDir(), Name()), "target-" + Name());
                break;
            case 12:
                BtrfsScratch.Run("setfattr", "-n", "user.k" + rnd.Next(3), "-v", "v" + rnd.Next(100), f);
                break;
            case 13:
                try
                {
                    BtrfsScratch.Run("setfattr", "-x", "user.k" + rnd.Next(3), f);
                }
                catch (InvalidOperationException)
                {
                    // no such attribute
                }
                File.SetLastWriteTimeUtc(f, new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(rnd.Next(1_000_000)));
                break;
        }
    }
}
