using Understudy.Agent.Replication;
using Understudy.Core.Paths;
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
}
