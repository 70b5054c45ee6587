using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Xunit;
using static Understudy.Core.Tests.Posix.TempTree;

namespace Understudy.Core.Tests.Posix;

public sealed class WalkTests
{
    [Fact]
    public void Walk_DirectoryBeforeChildren_SiblingsInRelPathOrder()
    {
        using var t = new TempTree();
        foreach (var d in new[] { "a", "a/b", "B", "a.b", "a-", "z/y/x" })
            t.Tree.EnsureDirectory(P(d), 0x1ED);
        foreach (var f in new[] { "a/b/c", "a/a", "a.b/1", "ab", "A", "z/y/x/w" })
            WriteFile(t.Tree, P(f), B(f));
        WriteFile(t.Tree, P([0xff]), [1]);
        WriteFile(t.Tree, P([0x7f]), [1]);

        var paths = t.Tree.Walk().Select(e => e.Path).ToList();

        var sorted = paths.ToList();
        sorted.Sort();
        Assert.Equal(sorted, paths);
        Assert.Equal(16, paths.Count);
        for (int i = 0; i < paths.Count; i++)
        {
            if (!paths[i].Parent.IsRoot)
                Assert.Contains(paths[i].Parent, paths.Take(i));
        }
        Assert.True(paths.IndexOf(P("a/b/c")) < paths.IndexOf(P("a-")));
    }

    [Fact]
    public void Walk_Descend_SkipsSubtree_SpecialFilesGoToOnSkip_StartSubtree()
    {
        using var t = new TempTree();
        t.Tree.EnsureDirectory(P("keep/sub"), 0x1ED);
        t.Tree.EnsureDirectory(P("skip/sub"), 0x1ED);
        WriteFile(t.Tree, P("keep/sub/f"), B("x"));
        WriteFile(t.Tree, P("skip/sub/f"), B("x"));
        MakeFifo(t.Path + "/keep/fifo");

        var skipped = new List<(RelPath, string)>();
        var paths = t.Tree.Walk(descend: p => p != P("skip"), onSkip: (p, why) => skipped.Add((p, why)))
            .Select(e => e.Path.ToString()).ToList();

        Assert.Equal(["keep", "keep/sub", "keep/sub/f"], paths);
        Assert.Equal([(P("keep/fifo"), "fifo")], skipped);

        Assert.Equal(["skip/sub", "skip/sub/f"], t.Tree.Walk(P("skip/sub")).Select(e => e.Path.ToString()));
        Assert.Empty(t.Tree.Walk(P("missing")));
    }

    [Fact]
    public void Walk_FileVanishesDuringWalk_GoesToOnError_WalkContinues()
    {
        using var t = new TempTree();
        foreach (var f in new[] { "d/1", "d/2", "d/3", "e" })
            WriteFile(t.Tree, P(f), B(f));

        var errors = new List<(RelPath Path, PosixException Error)>();
        var seen = new List<string>();
        foreach (var e in t.Tree.Walk(onError: (p, ex) => errors.Add((p, ex))))
        {
            seen.Add(e.Path.ToString());
            if (e.Path == P("d/1"))
                t.Tree.Remove(P("d/2"));   // listed already, gone before its lstat
        }

        Assert.Equal(["d", "d/1", "d/3", "e"], seen);
        var err = Assert.Single(errors);
        Assert.Equal(P("d/2"), err.Path);
        Assert.True(err.Error.IsNotFound);
    }

    [Fact]
    public void Walk_ReportsSymlinksWithoutFollowing_AndHardLinkIdentity()
    {
        using var t = new TempTree();
        t.Tree.EnsureDirectory(P("d"), 0x1ED);
        WriteFile(t.Tree, P("d/f"), B("x"));
        t.Tree.Symlink(P("loop"), B("."));
        t.Tree.Symlink(P("tod"), B("d"));
        t.Tree.HardLink(P("d/f"), P("g"));

        var entries = t.Tree.Walk().ToDictionary(e => e.Path.ToString());

        Assert.Equal(["d", "d/f", "g", "loop", "tod"], entries.Keys);
        Assert.Equal(EntryKind.Symlink, entries["tod"].Kind);
        Assert.Equal(B("d"), entries["tod"].LinkTarget);
        Assert.Equal(B("d"), t.Tree.ReadLink(P("tod")));
        Assert.Equal((entries["d/f"].Device, entries["d/f"].Inode), (entries["g"].Device, entries["g"].Inode));
        Assert.Equal(2u, entries["g"].LinkCount);
    }

    [Fact]
    public void RemoveStaleTemps_EmptiesTheWorkDirectory_AndNeverTouchesUserFilesNamedLikeTemporaries()
    {
        using var t = new TempTree();
        t.Tree.EnsureDirectory(P("d"), 0x1ED);
        WriteFile(t.Tree, P("d/keep"), B("x"));
        WriteFile(t.Tree, P(".ustd~keep-me"), B("x"));
        t.Tree.EnsureDirectory(P("d/.ustd~0123456789abcdef"), 0x1ED);
        WriteFile(t.Tree, P("d/.ustd~0123456789abcdef/inner"), B("x"));
        var left = t.Tree.CreateTemp(P("d/final")); // an interrupted write: its temporary stays behind
        var crashed = t.Tree.CreateTemp(P("d/other"));

        Assert.Equal(2, t.Tree.RemoveStaleTemps());

        Assert.Equal([".ustd~keep-me", "d", "d/.ustd~0123456789abcdef", "d/.ustd~0123456789abcdef/inner", "d/keep"],
            t.Tree.Walk().Select(e => e.Path.ToString()));
        Assert.Empty(Directory.EnumerateFileSystemEntries(System.IO.Path.Combine(t.Path, ".understudy-tmp")));
        left.Dispose();
        crashed.Dispose();
    }

    [Fact]
    public void CreateTemp_IsInTheWorkDirectory_NeverBesideUserFiles_AndCommitsToItsFinalPath()
    {
        using var t = new TempTree();
        using (var temp = t.Tree.CreateTemp(P("x/y/final")))
        {
            Assert.Empty(Directory.EnumerateFileSystemEntries(System.IO.Path.Combine(t.Path, "x/y")));
            var name = System.IO.Path.GetFileName(Assert.Single(Directory.EnumerateFiles(System.IO.Path.Combine(t.Path, ".understudy-tmp"))));
            Assert.Matches("^\\.ustd~[0-9a-f]{16}$", name);
            temp.Write("content"u8, 0);
            temp.Commit();
        }
        Assert.Equal("content", File.ReadAllText(System.IO.Path.Combine(t.Path, "x/y/final")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(System.IO.Path.Combine(t.Path, ".understudy-tmp")));
        t.Tree.Symlink(P("x/link"), B("final"));
        t.Tree.HardLink(P("x/y/final"), P("x/hard"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(System.IO.Path.Combine(t.Path, ".understudy-tmp")));
        Assert.True(FsTree.IsReserved(P(".understudy-tmp/a")));
        Assert.False(FsTree.IsReserved(P("d/.understudy-tmp")));
        Assert.False(FsTree.IsReserved(P(".understudy-tmpx")));
        var refused = Assert.Throws<PosixException>(() => t.Tree.Remove(P(".understudy-tmp")));
        Assert.True(refused.IsPermission);
    }

    private static void MakeFifo(string path)
    {
        int rc = Mkfifo(System.Text.Encoding.UTF8.GetBytes(path + "\0"), 0x1A4);
        Assert.Equal(0, rc);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mkfifo")]
    private static extern int Mkfifo(byte[] path, uint mode);
}
