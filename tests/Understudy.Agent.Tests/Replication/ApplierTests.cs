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
}
