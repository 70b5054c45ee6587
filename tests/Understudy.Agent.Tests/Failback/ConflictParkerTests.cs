using Understudy.Agent.Restore;
using Understudy.Core.Api;
using Understudy.Testing;
using Understudy.Core.Jobs;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Xunit;

namespace Understudy.Agent.Tests.Failback;

/// <summary>The source side of divergence: which paths count, how a version is parked, and each policy.</summary>
public sealed class ConflictParkerTests
{
    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private static readonly DateTimeOffset s_at = new(2026, 11, 25, 10, 55, 0, TimeSpan.Zero);

    private static (ConflictParker Parker, List<ConflictReport> Reports) Make(FsTree tree, ConflictPolicy policy, params string[] queued)
    {
        var reports = new List<ConflictReport>();
        var set = queued.Select(RelPath.Parse).ToHashSet();
        return (new ConflictParker(tree, 0, set, policy, "src host", new FixedTime(s_at), reports.Add), reports);
    }

    [Fact]
    public void ConflictName_IsBesideTheFile_WithSourceAndUtcTime()
    {
        Assert.Equal("dir/a.txt.understudy-conflict-src_host-20261125T105500Z", ConflictParker.ConflictName(RelPath.Parse("dir/a.txt"), "src host", s_at, 0).ToString());
        Assert.EndsWith("Z-2", ConflictParker.ConflictName(RelPath.Parse("a"), "s", s_at, 2).ToString(), StringComparison.Ordinal);
        Assert.True(ConflictParker.IsParked(RelPath.Parse("d.understudy-conflict-s-20261125T105500Z/x")));
        Assert.False(ConflictParker.IsParked(RelPath.Parse("d/x")));
    }

    [Fact]
    public void KeepTarget_QueuedFileReplaced_KeepsTheSourceVersionAsASecondName_Once()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Sub("a.txt"), "source version");
        File.WriteAllText(dir.Sub("b.txt"), "not queued");
        using var tree = FsTree.Open(dir.Path, create: false);
        var (parker, reports) = Make(tree, ConflictPolicy.KeepTarget, "a.txt");

        parker.BeforeChange(RelPath.Parse("a.txt"), removes: false);
        parker.BeforeChange(RelPath.Parse("a.txt"), removes: false);
        parker.BeforeChange(RelPath.Parse("b.txt"), removes: false);

        var parked = dir.Sub("a.txt.understudy-conflict-src_host-20261125T105500Z");
        Assert.Equal("source version", File.ReadAllText(parked));
        Assert.True(File.Exists(dir.Sub("a.txt")), "the original stays for the applier (a delta basis)");
        var r = Assert.Single(reports);
        Assert.Equal("a.txt", r.Path);
        Assert.Equal("a.txt.understudy-conflict-src_host-20261125T105500Z", r.ParkedAs);
        Assert.Single(parker.TakePending());
        Assert.Empty(parker.TakePending());
    }

    [Fact]
    public void KeepTarget_DirectoryWithAQueuedFileRemoved_IsMovedAsideWhole()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.Sub("d"));
        File.WriteAllText(Path.Combine(dir.Sub("d"), "x"), "lost change");
        using var tree = FsTree.Open(dir.Path, create: false);
        var (parker, _) = Make(tree, ConflictPolicy.KeepTarget, "d/x");

        parker.BeforeChange(RelPath.Parse("d"), removes: true);

        Assert.False(Directory.Exists(dir.Sub("d")));
        Assert.Equal("lost change", File.ReadAllText(Path.Combine(dir.Sub("d.understudy-conflict-src_host-20261125T105500Z"), "x")));
    }

    [Fact]
    public void DiscardSource_ReportsWithoutParking_Manual_Stops()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Sub("a.txt"), "source version");
        using var tree = FsTree.Open(dir.Path, create: false);
        var (discard, reports) = Make(tree, ConflictPolicy.DiscardSource, "a.txt");
        discard.BeforeChange(RelPath.Parse("a.txt"), removes: false);
        Assert.Null(Assert.Single(reports).ParkedAs);
        Assert.Single(Directory.GetFiles(dir.Path));

        var (manual, _) = Make(tree, ConflictPolicy.Manual, "a.txt");
        Assert.Throws<RestoreStoppedException>(() => manual.BeforeChange(RelPath.Parse("a.txt"), removes: false));
        Assert.Equal("source version", File.ReadAllText(dir.Sub("a.txt")));
    }

    [Fact]
    public void QueuedPathThatIsGoneOnTheSource_IsNoConflict()
    {
        using var dir = new TempDir();
        using var tree = FsTree.Open(dir.Path, create: false);
        var (parker, reports) = Make(tree, ConflictPolicy.Manual, "gone.txt");
        parker.BeforeChange(RelPath.Parse("gone.txt"), removes: false);
        Assert.Empty(reports);
    }
}
