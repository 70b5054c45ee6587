// For LayerRuleFixtureTests: the upper of two layers; it depends only downward.
namespace Understudy.Architecture.Tests.Fixture.Upper;

public sealed class Service
{
    public Lower.Helper Helper { get; } = new();
}
