using Xunit;

namespace Understudy.Architecture.Tests;

/// <summary>The namespace-cycle rule on the small fixture namespaces (Fixture/): Upper uses Lower, and Lower's Backdoor
/// uses Upper, so the two import each other; Lower also uses Leaf, which uses nothing back.</summary>
public sealed class NamespaceCycleFixtureTests
{
    [Fact]
    public void TwoNamespacesUsingEachOther_AreOnePair_AOneWayUseIsNone()
    {
        var pairs = NamespaceCycleRule.MutualPairs(Assemblies.Fixture, "Understudy.Architecture.Tests.Fixture");

        Assert.Equal(["Understudy.Architecture.Tests.Fixture.Lower <-> Understudy.Architecture.Tests.Fixture.Upper"], pairs);
    }
}
