using Understudy.Agent.Replication;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Replication;

/// <summary>
/// What a sender hands the next one about multiply linked files (<see cref="HardLinkNames.Doubts"/>): the links a
/// recheck sends ride on no queue record, so until a barrier after them is acknowledged a target kill or a cut loses
/// them and the replay does not send them again (convergence seeds 2003, 2031: names left separate or old on the target).
/// </summary>
public sealed class HardLinkNamesTests
{
    private static readonly (ulong, ulong) s_key = (1, 42);
    private static readonly HardLinkNames.Fingerprint s_what = new(10, 1, 0x81a4, 0, 0, 0, 1);

    [Fact]
    public void Rechecked_ButNotConfirmed_IsStillADoubt_UntilConfirmed()
    {
        var names = new HardLinkNames();
        names.SetCurrent(s_key, 0, RelPath.Parse("a"), s_what, null);
        Assert.True(names.HasSuspects);
        Assert.Single(names.TakeSuspects());
        Assert.False(names.HasSuspects);

        var doubt = Assert.Single(names.Doubts());
        Assert.Equal(s_key, doubt.Key);
        Assert.Equal(RelPath.Parse("a"), doubt.Path);

        names.Confirm();
        Assert.Empty(names.Doubts());
    }

    [Fact]
    public void Inherited_Doubts_AreCheckedByTheNextSender()
    {
        var old = new HardLinkNames();
        old.SetCurrent(s_key, 0, RelPath.Parse("d/b"), s_what, null);
        var next = new HardLinkNames();
        next.Inherit(old.Doubts());
        Assert.True(next.HasSuspects);
        var taken = Assert.Single(next.TakeSuspects());
        Assert.Equal((s_key, 0, RelPath.Parse("d/b")), taken);
    }

    /// <summary>
    /// A file changed through a name since gone is looked for again when the change is newer than the walk that
    /// found it nowhere: the file may have come back, or its inode number belong to another file by now. The walk
    /// used to run once per inode number, ever (convergence seed 2234: a write through a removed hard link lost).
    /// </summary>
    [Fact]
    public void AnyName_AfterAWalkFoundNothing_WalksAgainForALaterChange()
    {
        using var dir = new TempDir();
        var job = Directory.CreateDirectory(dir.Sub("job")).FullName;
        var outside = Directory.CreateDirectory(dir.Sub("outside")).FullName;
        File.WriteAllText(Path.Combine(outside, "f"), "x");
        using var tree = FsTree.Open(job, create: false);
        using var outsideTree = FsTree.Open(outside, create: false);
        var st = outsideTree.Lstat(RelPath.Parse("f"))!.Value;
        var key = (st.Device, st.Inode);
        var names = new HardLinkNames();
        FsTree? Tree(int r) => r == 0 ? tree : null;
        static bool NotExcluded(int r, RelPath p, bool d) => false;

        Assert.Null(names.AnyName(key, Tree, 1, NotExcluded, changedAtNs: 100, nowNs: 200));
        File.Move(Path.Combine(outside, "f"), Path.Combine(job, "back"));

        Assert.Null(names.AnyName(key, Tree, 1, NotExcluded, changedAtNs: 150, nowNs: 300)); // older than the walk: not again
        Assert.Equal(RelPath.Parse("back"), names.AnyName(key, Tree, 1, NotExcluded, changedAtNs: 250, nowNs: 400)?.Path);
    }

    /// <summary>
    /// Content sent to a name ahead of the queue is replaced on the target by a queued rename onto that name, which
    /// brings the target's older copy: it is no longer what the target holds (convergence seed 2311, where the
    /// recheck then linked the file's other name to the old copy as well). A rename away from it carries it along.
    /// </summary>
    [Fact]
    public void RenameOntoTheNameSentTo_ForgetsIt_RenameAwayCarriesIt()
    {
        var names = new HardLinkNames();
        names.SetCurrent(s_key, 0, RelPath.Parse("d/f145"), s_what, null);
        names.Renamed(0, RelPath.Parse("d/f145"), RelPath.Parse("e/g"), isDirectory: false);
        Assert.Equal(RelPath.Parse("e/g"), names.SentAsItIs(s_key, s_what, () => null)?.Path);
        names.Renamed(0, RelPath.Parse("e"), RelPath.Parse("x"), isDirectory: true);
        Assert.Equal(RelPath.Parse("x/g"), names.SentAsItIs(s_key, s_what, () => null)?.Path);

        names.Renamed(0, RelPath.Parse("of62"), RelPath.Parse("x/g"), isDirectory: false);
        Assert.Null(names.SentAsItIs(s_key, s_what, () => null));
    }

    /// <summary>
    /// A directory moved in (its tree sent ahead of the queue, a multiply linked file's content with it, and the file's
    /// other names linked to that copy), then a queued rename of another directory onto a name above it: the rename
    /// replaces the sent-ahead copy with the target's older one, which the other names are not linked to. The group is
    /// checked once the queue is sent (convergence seed 2441: a hard-link group split on the target).
    /// </summary>
    [Fact]
    public void DirectoryRenamedOntoAParentOfTheNameSentTo_TheGroupIsCheckedOnceTheQueueIsSent()
    {
        var names = new HardLinkNames();
        names.SetCurrent(s_key, 0, RelPath.Parse("in320/od316/rd321/f192"), s_what, null);
        names.TakeSuspects();
        names.Renamed(0, RelPath.Parse("d184"), RelPath.Parse("in320/od316/rd321"), isDirectory: true);
        Assert.Null(names.SentAsItIs(s_key, s_what, () => null));
        Assert.True(names.HasSuspects);
        Assert.Equal((s_key, 0, RelPath.Parse("in320/od316/rd321/f192")), Assert.Single(names.TakeSuspects()));
    }
}
