// For LayerRuleFixtureTests: the lower of two layers, with one upward arrow (Backdoor); it also uses Leaf.
namespace Understudy.Architecture.Tests.Fixture.Lower;

public sealed class Helper
{
    public int Count { get; set; }

    public Leaf.Value? Last { get; set; }
}

public sealed class Backdoor
{
    public Upper.Service? Service { get; set; }
}
