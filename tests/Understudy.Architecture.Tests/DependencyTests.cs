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
    /// owns ITargetFailoverHooks (fail-over implements it), WriteOrderView moved to Understudy.Core.Api with the API's
    /// records, and the routes are given their services instead of looking up AgentHost: 0, so this is the rule itself.
    /// </summary>
    private const int LayerViolationBaseline = 0;

    /// <summary>
    /// Pairs of the product's namespaces that use each other, as the layering left them (issue 18). The list may only
    /// shrink: a pair not in it fails the test; a pair in it that no longer occurs is printed, to be struck from it.
    /// </summary>
    private static readonly string[] NamespaceCycleBaseline =
    [
        "Understudy.Agent.Events <-> Understudy.Agent.State", // StateStore.ListEvents returns AgentEvent
        "Understudy.Agent.Failover <-> Understudy.Agent.Jobs", // JobRequestException and JobState one way, PassiveGuard the other
        "Understudy.Agent.Failover <-> Understudy.Agent.Restore", // restore is to become part of fail-over
        "Understudy.Core.Manifest <-> Understudy.Core.Posix",
    ];

    [Fact]
    public void Product_NamespacesUsingEachOther_AreNoMoreThanTheBaseline()
    {
        var pairs = NamespaceCycleRule.MutualPairs(Assemblies.Product, "Understudy");
        output.WriteLine($"{pairs.Count} pairs of namespaces using each other (baseline {NamespaceCycleBaseline.Length}):");
        foreach (var p in pairs)
            output.WriteLine("  " + p);
        foreach (var gone in NamespaceCycleBaseline.Except(pairs, StringComparer.Ordinal))
            output.WriteLine("  gone, strike it from the baseline: " + gone);
        var added = pairs.Except(NamespaceCycleBaseline, StringComparer.Ordinal).ToList();
        Assert.True(added.Count == 0, "namespaces that now use each other, not in the baseline:\n" + string.Join("\n", added));
    }

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
