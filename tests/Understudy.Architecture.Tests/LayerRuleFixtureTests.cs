using Xunit;

namespace Understudy.Architecture.Tests;

/// <summary>The layer rule itself, on two small layers in this assembly (Fixture/): it catches an arrow running up.</summary>
public sealed class LayerRuleFixtureTests
{
    private static readonly IReadOnlyList<Layer> Layers =
    [
        new("Upper", "Understudy.Architecture.Tests.Fixture.Upper"),
        new("Lower", "Understudy.Architecture.Tests.Fixture.Lower"),
    ];

    [Fact]
    public void UpwardReference_IsAViolation_DownwardIsNot()
    {
        var violations = LayerRule.Violations(Assemblies.Fixture, Layers);

        var v = Assert.Single(violations);
        Assert.Equal("Understudy.Architecture.Tests.Fixture.Lower.Backdoor", v.From);
        Assert.Equal("Understudy.Architecture.Tests.Fixture.Upper.Service", v.To);
        Assert.Equal(("Lower", "Upper"), (v.FromLayer, v.ToLayer));
    }

    [Fact]
    public void SameLayers_ListedTheOtherWayUp_FindTheOtherArrow()
    {
        var violations = LayerRule.Violations(Assemblies.Fixture, [.. Layers.Reverse()]);

        var v = Assert.Single(violations);
        Assert.Equal("Understudy.Architecture.Tests.Fixture.Upper.Service", v.From);
        Assert.Equal("Understudy.Architecture.Tests.Fixture.Lower.Helper", v.To);
    }
}
