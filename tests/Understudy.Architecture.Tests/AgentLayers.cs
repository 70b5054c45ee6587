namespace Understudy.Architecture.Tests;

/// <summary>
/// The agent's layers, top down: the target order of issue 18 ("Host → Api → {Jobs, Failover} →
/// {Replication, Mirror, Apply, Transfer} → Link → Common → Core"), with today's namespaces placed in the layer
/// they are to end up in. As the restructure lands, namespaces are renamed here to the new ones.
/// </summary>
public static class AgentLayers
{
    public static readonly IReadOnlyList<Layer> TopDown =
    [
        new("Host", "Understudy.Cli", "Understudy.Agent.Hosting"),
        new("Api", "Understudy.Agent.Api", "Understudy.Agent.WebConsole", "Understudy.Agent.Metrics"),
        // Fail-over holds the monitor, decisions, the plans, every step type, the identity providers and restore.
        new("Jobs and Failover", "Understudy.Agent.Jobs", "Understudy.Agent.Failover", "Understudy.Agent.Restore", "Understudy.Agent.Identity",
            "Understudy.Agent.Notify", "Understudy.Agent.Witness"),
        // Source/ holds the mirror engine today; Target/ the apply loop.
        new("Replication, Mirror, Apply, Transfer", "Understudy.Agent.Replication", "Understudy.Agent.Mirror", "Understudy.Agent.Source",
            "Understudy.Agent.Target", "Understudy.Agent.WriteOrder"),
        new("Link", "Understudy.Agent.Peer"),
        // The leaf layer: context, identity, data dir, event log, state store.
        new("Common", "Understudy.Agent.State", "Understudy.Agent.Events", "Understudy.Agent.Common"),
        new("Core", "Understudy.Core"),
    ];
}
