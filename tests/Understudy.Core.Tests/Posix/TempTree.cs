using System.Text;
using Understudy.Core.Paths;
using Understudy.Core.Posix;

namespace Understudy.Core.Tests.Posix;

/// <summary>A scratch directory under /tmp, removed with the layer's own Remove (System.IO
/// cannot delete names that are not valid UTF-8).</summary>
internal sealed class TempTree : IDisposable
{
    private readonly string _name;

    public TempTree()
    {
        _name = "ustd-posix-test-" + Guid.NewGuid().ToString("N");
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), _name);
        Directory.CreateDirectory(Path);
        Tree = FsTree.Open(Path, create: false);
    }

    public string Path { get; }

    public FsTree Tree { get; }

    public void Dispose()
    {
        Tree.Dispose();
        using var parent = FsTree.Open(System.IO.Path.GetTempPath().TrimEnd('/'), create: false);
        parent.Remove(RelPath.Parse(_name));
    }

    public static RelPath P(string text) => RelPath.Parse(text);

    public static RelPath P(params byte[][] components)
    {
        var p = RelPath.Root;
        foreach (var c in components)
            p = p.Append(c);
        return p;
    }

    public static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>Writes a whole file through the layer.</summary>
    public static void WriteFile(FsTree tree, RelPath path, byte[] content, uint mode = 0x1A4)
    {
        using var t = tree.CreateTemp(path);
        t.Write(content, 0);
        t.SetLength(content.Length);
        t.SetMetadata(mode, null, null, 1_600_000_000_000_000_000, null);
        t.Commit();
    }

    public static byte[] ReadFile(FsTree tree, RelPath path)
    {
        using var r = tree.OpenRead(path);
        var buf = new byte[r.Stat.Size];
        int done = 0;
        while (done < buf.Length)
        {
            int n = r.Read(buf.AsSpan(done), done);
            if (n == 0)
                break;
            done += n;
        }
        return buf;
    }
}
