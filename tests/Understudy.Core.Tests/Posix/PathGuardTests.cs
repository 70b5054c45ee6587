using Understudy.Core.Manifest;
using Understudy.Core.Posix;
using Xunit;
using static Understudy.Core.Tests.Posix.TempTree;

namespace Understudy.Core.Tests.Posix;

/// <summary>A hostile actor planted "a -> outside" (and a relative "up -> ../..") inside the
/// target tree. No write may go through them, and nothing outside may change.</summary>
public sealed class PathGuardTests : IDisposable
{
    private readonly TempTree _outside = new();
    private readonly TempTree _target = new();

    public PathGuardTests()
    {
        WriteFile(_outside.Tree, P("passwd"), B("root:x:0:0"), 0x1A4);
        _outside.Tree.EnsureDirectory(P("dir"), 0x1ED);
        _target.Tree.Symlink(P("a"), B(_outside.Path));
        _target.Tree.Symlink(P("up"), B("../.."));
        WriteFile(_target.Tree, P("f"), B("inside"));
    }

    public void Dispose()
    {
        _target.Dispose();
        _outside.Dispose();
    }

    public static TheoryData<string> Attacks() =>
    [
        "CreateTemp", "Rename-to", "Rename-from", "Remove", "EnsureDirectory", "EnsureDirectory-deep", "Symlink",
        "HardLink-to", "HardLink-from", "SetMetadata", "OpenRead", "ReadLink", "ReadXattrs", "Lstat", "Relative-up",
    ];

    [Theory]
    [MemberData(nameof(Attacks))]
    public void Write_ThroughPlantedSymlink_ThrowsAndTouchesNothingOutside(string attack)
    {
        var before = Snapshot();
        var tree = _target.Tree;
        Action act = attack switch
        {
            "CreateTemp" => () => tree.CreateTemp(P("a/passwd")).Dispose(),
            "Rename-to" => () => tree.Rename(P("f"), P("a/passwd")),
            "Rename-from" => () => tree.Rename(P("a/passwd"), P("stolen")),
            "Remove" => () => tree.Remove(P("a/passwd")),
            "EnsureDirectory" => () => tree.EnsureDirectory(P("a/newdir"), 0x1ED),
            "EnsureDirectory-deep" => () => tree.EnsureDirectory(P("a/dir/x/y"), 0x1ED),
            "Symlink" => () => tree.Symlink(P("a/passwd"), B("/tmp")),
            "HardLink-to" => () => tree.HardLink(P("f"), P("a/dir/h")),
            "HardLink-from" => () => tree.HardLink(P("a/passwd"), P("h")),
            "SetMetadata" => () => tree.SetMetadata(P("a/passwd"), 0x1FF, 0, 0, 0, []),
            "OpenRead" => () => tree.OpenRead(P("a/passwd")).Dispose(),
            "ReadLink" => () => tree.ReadLink(P("a/passwd")),
            "ReadXattrs" => () => tree.ReadXattrs(P("a/passwd")),
            "Lstat" => () => tree.Lstat(P("a/passwd")),
            "Relative-up" => () => tree.CreateTemp(P("up/x")).Dispose(),
            _ => throw new ArgumentOutOfRangeException(nameof(attack)),
        };

        var ex = Assert.Throws<PosixException>(act);
        Assert.True(ex.IsEscape, ex.Message);
        Assert.Equal(before, Snapshot());
        Assert.False(tree.Lstat(P("stolen")).HasValue);
        Assert.False(tree.Lstat(P("h")).HasValue);
    }

    [Fact]
    public void FinalComponentSymlink_IsReplacedOrActedOn_NeverFollowed()
    {
        var before = Snapshot();
        var tree = _target.Tree;

        tree.SetMetadata(P("a"), 0x1FF, null, null, 1_000_000_000, null);   // touches the link itself
        Assert.Equal(EntryKind.Symlink, tree.ReadLinkKind(P("a")));
        Assert.True(tree.ReadXattrs(P("a")).Count == 0);
        Assert.Throws<PosixException>(() => tree.OpenRead(P("a")).Dispose()); // O_NOFOLLOW
        WriteFile(tree, P("a"), B("replaces the link"));                     // rename over the link
        Assert.Equal(EntryKind.File, tree.Lstat(P("a"))!.Value.Kind);
        tree.Symlink(P("up"), B("/etc"));
        tree.EnsureDirectory(P("up"), 0x1ED);                                // link in the way is removed
        Assert.Equal(EntryKind.Directory, tree.Lstat(P("up"))!.Value.Kind);

        Assert.Equal(before, Snapshot());
    }

    [Fact]
    public void Remove_DirectoryHoldingSymlinksToOutside_RemovesOnlyTheLinks()
    {
        var before = Snapshot();
        var tree = _target.Tree;
        tree.EnsureDirectory(P("d/e"), 0x1ED);
        tree.Symlink(P("d/out"), B(_outside.Path));
        tree.Symlink(P("d/e/out2"), B(_outside.Path + "/dir"));
        WriteFile(tree, P("d/e/file"), B("x"));

        tree.Remove(P("d"));
        tree.Remove(P("a"));
        tree.Remove(P("does/not/exist"));

        Assert.Null(tree.Lstat(P("d")));
        Assert.Null(tree.Lstat(P("a")));
        Assert.Equal(before, Snapshot());
    }

    private string Snapshot() =>
        string.Join("\n", _outside.Tree.Walk().Select(e =>
            $"{e.Path} {e.Kind} {e.Mode:x} {e.MtimeNs} {e.Size} {e.Uid}:{e.Gid} "
            + (e.Kind == EntryKind.File ? Convert.ToHexString(ReadFile(_outside.Tree, e.Path)) : "")));
}

internal static class FsTreeTestExtensions
{
    public static EntryKind? ReadLinkKind(this FsTree tree, Understudy.Core.Paths.RelPath p) => tree.Lstat(p)?.Kind;
}
