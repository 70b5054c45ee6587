using Understudy.Agent.Replication;
using Understudy.Core.Paths;
using Xunit;

namespace Understudy.Agent.Tests.Replication;

/// <summary>Which paths the source resyncs when the target reports it could not apply a change to them
/// (<see cref="MissingPaths"/>, taken out of the job runner's replication loop): no agents, no clock.</summary>
public sealed class MissingPathsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly List<string> _catchUps = [];

    private IReadOnlyList<string> Take(MissingPaths m, DateTimeOffset at, Func<RelPath, IEnumerable<RelPath>>? laterNames = null) =>
        [.. m.Take(at, laterNames ?? (p => [p]), _catchUps.Add).Select(p => p.ToString())];

    [Fact]
    public void Take_APathBelowAnotherReportedWithIt_IsCoveredByIt()
    {
        var m = new MissingPaths();
        m.Add("d/f");
        m.Add("d");
        m.Add("e");
        Assert.False(m.IsEmpty);
        Assert.Equal(["d", "e"], Take(m, T0));
        Assert.True(m.IsEmpty);
        Assert.Empty(_catchUps);
    }

    [Fact]
    public void Take_APathThatFailsAgainSoon_ResyncsItsParent_AndAboveTheRoot_AsksForACatchUp()
    {
        var m = new MissingPaths();
        m.Add("d/f");
        Assert.Equal(["d/f"], Take(m, T0));
        m.Add("d/f");
        Assert.Equal(["d"], Take(m, T0.AddSeconds(5)));
        m.Add("d/f");
        Assert.Equal(["."], Take(m, T0.AddSeconds(10))); // the root
        Assert.Empty(_catchUps);
        m.Add("d/f");
        Assert.Empty(Take(m, T0.AddSeconds(15)));
        Assert.Equal(["the target still could not apply a change to d/f after re-sending it"], _catchUps);
    }

    [Fact]
    public void Take_APathThatFailsAgainAfterTheMemory_ResyncsItselfAgain()
    {
        var m = new MissingPaths();
        m.Add("d/f");
        Assert.Equal(["d/f"], Take(m, T0));
        m.Add("d/f");
        Assert.Equal(["d/f"], Take(m, T0 + MissingPaths.Memory + TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void Take_FollowsTheLaterNamesOfAPath()
    {
        var m = new MissingPaths();
        m.Add("old");
        Assert.Equal(["new"], Take(m, T0, p => p.ToString() == "old" ? [RelPath.Parse("new")] : [p]));
    }

    [Fact]
    public void Take_AnInvalidPath_AsksForACatchUp()
    {
        var m = new MissingPaths();
        m.Add("a/../b");
        Assert.Empty(Take(m, T0));
        Assert.Equal(["the target could not apply a change to a/../b"], _catchUps);
    }

    [Fact]
    public void RetryUnconfirmed_ReportsTheUnconfirmedResyncsAgain_AsNew()
    {
        var m = new MissingPaths();
        m.Add("d/f");
        Assert.Equal(["d/f"], Take(m, T0));
        m.RetryUnconfirmed();
        // Again as itself (a new session), not its parent: the resync may simply have died with the last session.
        Assert.Equal(["d/f"], Take(m, T0.AddSeconds(1)));
        m.Confirmed();
        m.RetryUnconfirmed();
        Assert.True(m.IsEmpty);
    }
}
