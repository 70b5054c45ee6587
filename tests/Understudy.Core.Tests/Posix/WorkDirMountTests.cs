using System.Diagnostics;
using Understudy.Core.Posix;
using Xunit;
using static Understudy.Core.Tests.Posix.TempTree;

namespace Understudy.Core.Tests.Posix;

/// <summary>A mount point inside the tree: its files cannot be renamed in from the work directory at the root.</summary>
public sealed class WorkDirMountTests
{
    private static bool Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.WaitForExit();
        return p.ExitCode == 0;
    }

    [Fact]
    public void DestinationOnANestedMount_GetsItsTemporaryBesideIt_AndEveryOperationWorks()
    {
        if (!FsTree.IsRoot)
            return; // mounting needs root; CI runs as root
        using var t = new TempTree();
        var mnt = Path.Combine(t.Path, "mnt");
        Directory.CreateDirectory(mnt);
        Assert.True(Run("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt), "mount tmpfs");
        try
        {
            using (var temp = t.Tree.CreateTemp(P("mnt/d/f")))
            {
                var name = Path.GetFileName(Assert.Single(Directory.EnumerateFiles(Path.Combine(mnt, "d"))));
                Assert.StartsWith(".ustd~", name, StringComparison.Ordinal);
                temp.Write("on tmpfs"u8, 0);
                temp.Commit();
            }
            using (var unnamed = t.Tree.CreateTemp(P("mnt/d/f"), unnamed: true)) // replaces an existing name
            {
                unnamed.Write("again"u8, 0);
                unnamed.Commit();
            }
            t.Tree.Symlink(P("mnt/d/link"), B("f"));
            t.Tree.HardLink(P("mnt/d/f"), P("mnt/d/hard"));
            Assert.Equal("again", File.ReadAllText(Path.Combine(mnt, "d/hard")));
            Assert.Equal(["f", "hard", "link"], Directory.EnumerateFileSystemEntries(Path.Combine(mnt, "d")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        }
        finally
        {
            Run("umount", "-l", mnt);
        }
    }
}

/// <summary>The work directory is the agent's, not the user's: making it leaves no trace in the tree's metadata.</summary>
public sealed class WorkDirRootMtimeTests
{
    [Fact]
    public void MakingTheWorkDirectory_PutsTheRootsMtimeBack()
    {
        // Convergence seed 909: a replica whose work directory was made during replication had its root's mtime
        // moved, unlike its source's, until the root's next change.
        using var t = new TempTree();
        Directory.CreateDirectory(Path.Combine(t.Path, "d"));
        var mtime = new DateTime(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc);
        Directory.SetLastWriteTimeUtc(t.Path, mtime);
        using (var temp = t.Tree.CreateTemp(P("d/f")))
        {
            temp.Write("data"u8, 0);
            temp.Commit();
        }
        Assert.True(Directory.Exists(Path.Combine(t.Path, ".understudy-tmp")));
        Assert.Equal(mtime, Directory.GetLastWriteTimeUtc(t.Path));
    }
}
