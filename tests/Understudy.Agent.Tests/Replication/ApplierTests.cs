using Understudy.Agent.Target;
using Understudy.Testing;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;
using Xunit;

namespace Understudy.Agent.Tests.Replication;

public sealed class ApplierTests
{
    [Fact]
    public void Rename_BetweenTwoLinksOfOneFile_LeavesOnlyTheNewName()
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "a"), "x");
        Capture.TestLibc.Link(Path.Combine(dir.Path, "a"), Path.Combine(dir.Path, "b"));
        using var tree = FsTree.Open(dir.Path, create: false);
        using var applier = new Applier(tree);

        applier.Rename(new RenameOp(RelPath.Parse("a"), RelPath.Parse("b"))); // rename(2) alone would keep both

        Assert.Null(tree.Lstat(RelPath.Parse("a")));
        Assert.Equal("x", File.ReadAllText(Path.Combine(dir.Path, "b")));
    }

    [Fact]
    public void Rename_OntoANonEmptyDirectory_ReplacesIt_AndSaysSo_SoTheSenderResyncsTheNewName()
    {
        // The source's rename(2) succeeded, so the target's content at the new name was sent ahead of the queue (a first
        // mirror that walked the new name while the rename was queued: convergence seed 513 lost it for good). The
        // applier clears it to apply the rename in order and says it did: the apply loop asks the sender to resync it.
        using var dir = new TempDir();
        Directory.CreateDirectory(Path.Combine(dir.Path, "a"));
        File.WriteAllText(Path.Combine(dir.Path, "a/old"), "old");
        Directory.CreateDirectory(Path.Combine(dir.Path, "b"));
        File.WriteAllText(Path.Combine(dir.Path, "b/sent-ahead"), "new");
        using var tree = FsTree.Open(dir.Path, create: false);
        using var applier = new Applier(tree);

        applier.Rename(new RenameOp(RelPath.Parse("a"), RelPath.Parse("b")));

        Assert.True(applier.RenameClearedItsDestination);
        Assert.Equal("old", File.ReadAllText(Path.Combine(dir.Path, "b/old")));
        Assert.False(File.Exists(Path.Combine(dir.Path, "b/sent-ahead")));
        applier.Rename(new RenameOp(RelPath.Parse("b"), RelPath.Parse("c")));
        Assert.False(applier.RenameClearedItsDestination);
    }
}
