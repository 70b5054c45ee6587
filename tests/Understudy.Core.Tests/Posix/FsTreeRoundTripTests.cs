using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Xunit;
using static Understudy.Core.Tests.Posix.TempTree;

namespace Understudy.Core.Tests.Posix;

public sealed class FsTreeRoundTripTests
{
    private const long Mtime = 1_600_000_000_123_456_789;
    private static readonly byte[] s_invalidUtf8 = [0xff, 0xfe, (byte)'x'];
    private static readonly byte[] s_longName = Enumerable.Repeat((byte)'n', 255).ToArray();

    [Fact]
    public void RoundTrip_HostileTree_IsCopiedExactly()
    {
        using var src = new TempTree();
        using var dst = new TempTree();
        BuildHostileTree(src.Tree);

        MiniMirror.Copy(src.Tree, dst.Tree);

        var a = src.Tree.Walk().ToList();
        var b = dst.Tree.Walk().ToList();
        Assert.Equal(a.Select(e => e.Path), b.Select(e => e.Path));
        foreach (var (s, t) in a.Zip(b))
        {
            Assert.Equal(s.Kind, t.Kind);
            Assert.Equal(s.Size, t.Size);
            Assert.Equal(s.MtimeNs, t.MtimeNs);
            if (s.Kind != EntryKind.Symlink)
                Assert.Equal(s.Mode, t.Mode);
            if (FsTree.IsRoot)
                Assert.Equal((s.Uid, s.Gid), (t.Uid, t.Gid));
            Assert.Equal(s.LinkTarget, t.LinkTarget);
            Assert.Equal(s.LinkCount, t.LinkCount);
            if (s.Kind == EntryKind.File)
                Assert.Equal(ReadFile(src.Tree, s.Path), ReadFile(dst.Tree, t.Path));
            Assert.Equal(Flatten(src.Tree.ReadXattrs(s.Path)), Flatten(dst.Tree.ReadXattrs(t.Path)));
        }

        // Hostile names made it byte for byte.
        Assert.Contains(b, e => e.Path == P(B("sub dir"), B("new\nline")));
        Assert.Contains(b, e => e.Path == P(s_invalidUtf8));
        Assert.Contains(b, e => e.Path == P(s_longName));
        Assert.Contains(b, e => e.Path == P("empty") && e.Kind == EntryKind.Directory);

        // Symlink target verbatim (dangling, absolute, pointing outside) and never followed.
        var link = b.Single(e => e.Path == P("link"));
        Assert.Equal(EntryKind.Symlink, link.Kind);
        Assert.Equal(B("../../nowhere"), link.LinkTarget);

        // Hard links: same inode/device on the target too.
        var h1 = b.Single(e => e.Path == P("hard1"));
        var h2 = b.Single(e => e.Path == P(B("sub dir"), B("hard2")));
        Assert.Equal((h1.Device, h1.Inode), (h2.Device, h2.Inode));
        Assert.Equal(2u, h1.LinkCount);

        // Sparse file: the copy keeps its hole.
        var sparse = dst.Tree.Lstat(P("sparse"))!.Value;
        Assert.Equal(8L << 20, sparse.Size);
        Assert.True(sparse.AllocatedBytes < sparse.Size / 2, $"allocated {sparse.AllocatedBytes} of {sparse.Size}");
        using var r = dst.Tree.OpenRead(P("sparse"));
        Assert.Equal(2, r.DataExtents().Count);

        // xattrs
        var x = dst.Tree.ReadXattrs(P("data"));
        Assert.Equal(2, x.Count);
        Assert.Equal(B("user.a"), x[0].Name);
        Assert.Equal(new byte[] { 0, 1, 2, 0xff }, x[0].Value);
    }

    [Fact]
    public void DataExtents_SparseFile_ShowsTheHole()
    {
        using var t = new TempTree();
        BuildSparse(t.Tree, P("s"));
        using var r = t.Tree.OpenRead(P("s"));
        var ext = r.DataExtents();
        Assert.Equal(2, ext.Count);
        Assert.Equal(0, ext[0].Offset);
        Assert.True(ext[0].Length < 1L << 20 && ext[1].Offset > 1L << 20, $"{ext[0]} {ext[1]}");
        Assert.Equal(8L << 20, ext[1].Offset + ext[1].Length);
    }

    [Fact]
    public void DataExtents_EmptyFile_None_DenseFile_One()
    {
        using var t = new TempTree();
        WriteFile(t.Tree, P("empty"), []);
        WriteFile(t.Tree, P("dense"), new byte[10_000]);
        using (var r = t.Tree.OpenRead(P("empty")))
            Assert.Empty(r.DataExtents());
        using (var r = t.Tree.OpenRead(P("dense")))
            Assert.Equal([(0L, 10_000L)], r.DataExtents());
    }

    [Fact]
    public void SetMetadata_ModeMtimeXattrs_ReplaceTheSet()
    {
        using var t = new TempTree();
        WriteFile(t.Tree, P("f"), B("hello"));
        t.Tree.SetMetadata(P("f"), 0x1ED, null, null, Mtime, [new Xattr(B("user.one"), B("1")), new Xattr(B("user.two"), B("2"))]);
        t.Tree.SetMetadata(P("f"), 0x5A4 /* setgid|0644 */, null, null, -1_500_000_001, [new Xattr(B("user.two"), B("22"))]);

        var st = t.Tree.Lstat(P("f"))!.Value;
        Assert.Equal(0x5A4u, st.Mode);
        Assert.Equal(-1_500_000_001, st.MtimeNs);
        var x = Assert.Single(t.Tree.ReadXattrs(P("f")));
        Assert.Equal(B("user.two"), x.Name);
        Assert.Equal(B("22"), x.Value);
    }

    [Fact]
    public void Lstat_Missing_IsNull_AndOpenReadMissing_IsNotFound()
    {
        using var t = new TempTree();
        Assert.Null(t.Tree.Lstat(P("nope")));
        Assert.Null(t.Tree.Lstat(P("nope/deeper")));
        var ex = Assert.Throws<PosixException>(() => t.Tree.OpenRead(P("nope")));
        Assert.True(ex.IsNotFound);
        Assert.Equal(EntryKind.Directory, t.Tree.Lstat(RelPath.Root)!.Value.Kind);
    }

    [Fact]
    public void Commit_OverDirectory_ReplacesIt_AndUncommittedTempVanishes()
    {
        using var t = new TempTree();
        t.Tree.EnsureDirectory(P("d/inner"), 0x1ED);
        WriteFile(t.Tree, P("d/inner/f"), B("x"));
        WriteFile(t.Tree, P("d"), B("now a file"));
        Assert.Equal(B("now a file"), ReadFile(t.Tree, P("d")));

        using (var temp = t.Tree.CreateTemp(P("never")))
            temp.Write(B("abandoned"), 0);
        Assert.Equal([P("d")], t.Tree.Walk().Select(e => e.Path));
    }

    [Theory]
    [InlineData(true)] // linkat(fd, "", AT_EMPTY_PATH): as root (CI), else it falls back by itself
    [InlineData(false)] // linkat of /proc/self/fd/N: without CAP_DAC_READ_SEARCH
    public void UnnamedTemp_HasNoNameUntilCommitted_ThenReplacesFileDirectoryOrSymlinkAtomically(bool byEmptyPath)
    {
        Sys.LinkByEmptyPath = byEmptyPath; // either way is correct, so tests running meanwhile do not mind
        try
        {
            UnnamedTempCommits();
        }
        finally
        {
            Sys.LinkByEmptyPath = true;
        }
    }

    private static void UnnamedTempCommits()
    {
        using var t = new TempTree();
        WriteFile(t.Tree, P("file"), B("old"));
        t.Tree.EnsureDirectory(P("dir/inner"), 0x1ED);
        t.Tree.Symlink(P("link"), B("file"));
        var before = t.Tree.Walk().Select(e => e.Path).ToList();

        string[] names = ["new", "file", "dir", "link"];
        var temps = names.Select(n => t.Tree.CreateTemp(P("sub/" + n), 0x1A0, unnamed: true)).ToList();
        using (var abandoned = t.Tree.CreateTemp(P("sub/never"), unnamed: true))
            abandoned.Write(B("abandoned"), 0);
        foreach (var (temp, n) in temps.Zip(names))
        {
            temp.Write(B("content of " + n), 0);
            temp.SetMetadata(0x1A0, null, null, Mtime, null);
        }
        // Written but not committed: no new name anywhere (not even a temporary one), only the parent made for them.
        Assert.Equal(before.Append(P("sub")).Order(), t.Tree.Walk().Select(e => e.Path).Order());
        Assert.Empty(Directory.EnumerateFileSystemEntries(System.IO.Path.Combine(t.Path, "sub")));

        foreach (var n in names[1..])
            WriteFile(t.Tree, P("sub/" + n), B("in the way"));
        t.Tree.Remove(P("sub/dir"));
        t.Tree.EnsureDirectory(P("sub/dir/inner"), 0x1ED);
        t.Tree.Remove(P("sub/link"));
        t.Tree.Symlink(P("sub/link"), B("../file"));
        foreach (var temp in temps)
        {
            temp.Commit();
            temp.Dispose();
        }

        foreach (var n in names)
        {
            var st = t.Tree.Lstat(P("sub/" + n))!.Value;
            Assert.Equal(EntryKind.File, st.Kind);
            Assert.Equal(0x1A0u, st.Mode);
            Assert.Equal(Mtime, st.MtimeNs);
            Assert.Equal(B("content of " + n), ReadFile(t.Tree, P("sub/" + n)));
        }
        Assert.Equal(B("old"), ReadFile(t.Tree, P("file"))); // the symlink was replaced, not followed
        Assert.Equal(names.Select(n => P("sub/" + n)).Order(), t.Tree.Walk().Select(e => e.Path).Where(p => p.ToString().StartsWith("sub/", StringComparison.Ordinal)).Order());
    }

    [Fact]
    public void EnsureDirectory_ReplacesFileInTheWay_AppliesExactMode()
    {
        using var t = new TempTree();
        WriteFile(t.Tree, P("x"), B("file"));
        t.Tree.EnsureDirectory(P("x"), 0x1FF);
        var st = t.Tree.Lstat(P("x"))!.Value;
        Assert.Equal(EntryKind.Directory, st.Kind);
        Assert.Equal(0x1FFu, st.Mode);
        t.Tree.EnsureDirectory(P("x"), 0x1C0); // existing directory: left alone
        Assert.Equal(0x1FFu, t.Tree.Lstat(P("x"))!.Value.Mode);
    }

    internal static void BuildHostileTree(FsTree tree)
    {
        tree.EnsureDirectory(P("empty"), 0x1ED);
        tree.EnsureDirectory(P("sub dir"), 0x1E8);
        WriteFile(tree, P(B("sub dir"), B("new\nline")), B("newline name"));
        WriteFile(tree, P(s_invalidUtf8), B("invalid utf-8 name"), 0x180);
        WriteFile(tree, P(s_longName), B("long name"));
        WriteFile(tree, P("data"), B("with xattrs"));
        tree.SetMetadata(P("data"), 0x1A0, FsTree.IsRoot ? 1234u : null, FsTree.IsRoot ? 5678u : null, Mtime,
            [new Xattr(B("user.a"), [0, 1, 2, 0xff]), new Xattr(B("user.b"), [])]);
        BuildSparse(tree, P("sparse"));
        tree.Symlink(P("link"), B("../../nowhere"));
        tree.SetMetadata(P("link"), 0, null, null, Mtime + 1, null);
        WriteFile(tree, P("hard1"), B("shared inode"));
        tree.HardLink(P("hard1"), P(B("sub dir"), B("hard2")));
        tree.SetMetadata(P("sub dir"), 0x1E8, null, null, Mtime + 2, [new Xattr(B("user.dir"), B("d"))]);
        tree.SetMetadata(P("empty"), 0x1C0, null, null, Mtime + 3, null);
    }

    private static void BuildSparse(FsTree tree, RelPath path)
    {
        using var t = tree.CreateTemp(path);
        t.SetLength(8L << 20);
        t.Write(Enumerable.Repeat((byte)7, 4096).ToArray(), 0);
        t.Write(Enumerable.Repeat((byte)9, 4096).ToArray(), (8L << 20) - 4096);
        t.SetMetadata(0x1A4, null, null, Mtime, null);
        t.Commit();
    }

    private static string Flatten(IReadOnlyList<Xattr> xs) =>
        string.Join(";", xs.Select(x => Convert.ToHexString(x.Name) + "=" + Convert.ToHexString(x.Value)));
}
