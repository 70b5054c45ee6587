// For NamespaceCycleFixtureTests: a namespace used one way only (by Lower), so it is in no cycle.
namespace Understudy.Architecture.Tests.Fixture.Leaf;

public sealed class Value
{
    public int Number { get; set; }
}
