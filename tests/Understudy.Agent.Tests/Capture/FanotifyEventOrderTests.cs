using Understudy.Agent.Replication.Capture;
using Understudy.Core.Paths;
using Xunit;

namespace Understudy.Agent.Tests.Capture;

public sealed class FanotifyEventOrderTests
{
    private static RelPath P(string s) => s == "." ? RelPath.Root : RelPath.Parse(s);

    private static ChangeEvent E(ChangeKind k, string path, bool dir = false, uint cookie = 0) => new(k, P(path), dir, cookie);

    private static List<string> ReleaseAll(FanotifyEventOrder o)
    {
        var list = new List<string>();
        o.ReleaseAll(e => list.Add(e.ToString()));
        return list;
    }

    [Fact]
    public void ChangeNamedAfterItsDirectoryWasRenamed_ComesAfterTheRename()
    {
        var o = new FanotifyEventOrder();
        o.Add(E(ChangeKind.Modified, "other/f"), P("other"), 1);
        o.Add(E(ChangeKind.Created, "b/x"), P("b"), 1); // happened in a/, named after a was renamed b
        o.Add(E(ChangeKind.Deleted, "b/sub/y"), P("b/sub"), 1);
        o.Add(E(ChangeKind.MovedFrom, "a", true, 7), P("."), 1, E(ChangeKind.MovedTo, "b", true, 7), P("."));
        Assert.Equal(["Modified other/f", "MovedFrom a/ #7", "MovedTo b/ #7", "Created b/x", "Deleted b/sub/y"], ReleaseAll(o));
        Assert.False(o.Overflowed);
    }

    [Fact]
    public void ChangeNamedBeforeTheRename_BetweenMisnamedOnes_IsRebasedBelowTheNewName()
    {
        var o = new FanotifyEventOrder();
        o.Add(E(ChangeKind.Created, "b/sub/x"), P("b/sub"), 1); // misnamed (a/sub's handle resolved after the rename)
        o.Add(E(ChangeKind.Modified, "a/y"), P("a"), 1);        // a/'s handle was cached before the rename
        o.Add(E(ChangeKind.MovedFrom, "a", true, 3), P("."), 2, E(ChangeKind.MovedTo, "b", true, 3), P("."));
        Assert.Equal(["MovedFrom a/ #3", "MovedTo b/ #3", "Created b/sub/x", "Modified b/y"], ReleaseAll(o));
    }

    [Fact]
    public void FileMovedOutOfTheRenamedDirectory_MovesAsOnePair()
    {
        var o = new FanotifyEventOrder();
        o.Add(E(ChangeKind.MovedFrom, "b/f", cookie: 1), P("b"), 1, E(ChangeKind.MovedTo, "o/f", cookie: 1), P("o"));
        o.Add(E(ChangeKind.Modified, "o/f"), P("o"), 1);
        o.Add(E(ChangeKind.MovedFrom, "a", true, 2), P("."), 1, E(ChangeKind.MovedTo, "b", true, 2), P("."));
        Assert.Equal(["MovedFrom a/ #2", "MovedTo b/ #2", "MovedFrom b/f #1", "MovedTo o/f #1", "Modified o/f"], ReleaseAll(o));
    }

    [Fact]
    public void RemovalOfTheNewNameAmongMisnamedEvents_CannotBeReordered_Overflows()
    {
        var o = new FanotifyEventOrder();
        o.Add(E(ChangeKind.Created, "b/x"), P("b"), 1);
        o.Add(E(ChangeKind.Deleted, "b", true), P("."), 1); // an empty b, removed before a was renamed over it
        o.Add(E(ChangeKind.MovedFrom, "a", true, 2), P("."), 1, E(ChangeKind.MovedTo, "b", true, 2), P("."));
        Assert.True(o.Overflowed);
        Assert.Equal(["Created b/x", "Deleted b/", "MovedFrom a/ #2", "MovedTo b/ #2"], ReleaseAll(o));
    }

    [Fact]
    public void DirectoryRenamedBackAndForth_EachRoundsChangesFollowTheirRename()
    {
        // Round 1 in "moving", renamed "moved"; round 2 in "moved", renamed back; all named while it is "moving".
        var o = new FanotifyEventOrder();
        o.Add(E(ChangeKind.MovedFrom, "moving/f", cookie: 1), P("moving"), 1, E(ChangeKind.MovedTo, "moving/g", cookie: 1), P("moving"));
        o.Add(E(ChangeKind.MovedFrom, "moving", true, 2), P("."), 1, E(ChangeKind.MovedTo, "moved", true, 2), P("."));
        o.Add(E(ChangeKind.MovedFrom, "moving/g", cookie: 3), P("moving"), 1, E(ChangeKind.MovedTo, "moving/f", cookie: 3), P("moving"));
        o.Add(E(ChangeKind.MovedFrom, "moved", true, 4), P("."), 1, E(ChangeKind.MovedTo, "moving", true, 4), P("."));
        Assert.Equal([
            "MovedFrom moving/f #1", "MovedTo moving/g #1", "MovedFrom moving/ #2", "MovedTo moved/ #2",
            "MovedFrom moved/ #4", "MovedTo moving/ #4", "MovedFrom moving/g #3", "MovedTo moving/f #3"], ReleaseAll(o));
        Assert.False(o.Overflowed);
    }

    [Fact]
    public void NothingMisnamed_KeepsArrivalOrder_AndReleasesOnlyEarlierReads()
    {
        var o = new FanotifyEventOrder();
        o.Add(E(ChangeKind.Created, "b"), P("."), 1);
        o.Add(E(ChangeKind.Created, "c/x"), P("c"), 2);
        o.Add(E(ChangeKind.MovedFrom, "a", true, 2), P("."), 2, E(ChangeKind.MovedTo, "d", true, 2), P("."));
        var released = new List<string>();
        o.ReleaseBefore(2, e => released.Add(e.ToString()));
        Assert.Equal(["Created b"], released);
        Assert.Equal(["Created c/x", "MovedFrom a/ #2", "MovedTo d/ #2"], ReleaseAll(o));
    }

    [Fact]
    public void DirectoryMovedIn_ComesBeforeWhatWasNamedThroughIt()
    {
        var o = new FanotifyEventOrder();
        o.Add(E(ChangeKind.Modified, "in/x"), P("in"), 1); // written outside the root, read after the move in
        o.Add(E(ChangeKind.MovedTo, "in", true), P("."), 1);
        Assert.Equal(["MovedTo in/", "Modified in/x"], ReleaseAll(o));
    }
}
