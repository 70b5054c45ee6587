using ArchUnitNET.xUnit;
using Xunit;
using Xunit.Abstractions;
using static ArchUnitNET.Fluent.ArchRuleDefinition;

namespace Understudy.Architecture.Tests;

/// <summary>Which way the arrows between the product's parts run (docs/architecture.md, "The rule").</summary>
public sealed class DependencyTests(ITestOutputHelper output)
{
    /// <summary>
    /// Upward arrows in the agent, counted when this test was written (issue 18): 14, 11 into Hosting and 3 from Target
    /// into Jobs/Failover. The base types moved to Common (AgentContext, AgentIdentity, DataDir, AgentVersion), Target
    /// owns ITargetFailoverHooks (fail-over implements it) and WriteOrderView moved to WriteOrder; what remains is the
    /// routes' lookup of AgentHost (the API's typed contracts remove it). The baseline must never grow. When a change
    /// removes some, lower this number to the new count (the test prints the list); at 0 it is the rule itself.
    /// </summary>
    private const int LayerViolationBaseline = 1;

    [Fact]
    public void Core_DependsOnNeitherAgentNorCli()
    {
        var rule = Types().That().ResideInAssembly(Assemblies.Core)
            .Should().NotDependOnAny(Types().That().ResideInAssembly(Assemblies.Agent).Or().ResideInAssembly(Assemblies.Cli));
        rule.Check(Assemblies.Product);
    }

    [Fact]
    public void Agent_UpwardArrows_DoNotGrowPastTheBaseline()
    {
        var violations = LayerRule.Violations(Assemblies.Product, AgentLayers.TopDown);
        output.WriteLine($"{violations.Count} upward dependencies (baseline {LayerViolationBaseline}):");
        foreach (var group in violations.GroupBy(v => $"{v.FromLayer} -> {v.ToLayer}").OrderBy(g => g.Key, StringComparer.Ordinal))
            output.WriteLine($"  {group.Key}: {group.Count()}");
        foreach (var v in violations)
            output.WriteLine("  " + v);
        Assert.True(violations.Count <= LayerViolationBaseline,
            $"{violations.Count} upward dependencies, more than the baseline of {LayerViolationBaseline}:\n" + string.Join("\n", violations));
    }
}
