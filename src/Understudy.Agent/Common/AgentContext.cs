using Understudy.Agent.Events;
using Understudy.Agent.State;

namespace Understudy.Agent.Common;

/// <summary>What the agent's parts share: identity, state, events, clock, and the supervisor every long-running loop runs under.</summary>
internal sealed record AgentContext(AgentIdentity Identity, string AgentName, string DataDir, StateStore Store, EventLog Events, TimeProvider Time, LoopSupervisor Loops)
{
    /// <summary>The environment's knobs, read once at start (<see cref="AgentSettings"/>).</summary>
    public AgentSettings Settings { get; init; } = AgentSettings.Default;
    /// <summary>The peer links' heartbeat interval (<c>understudy agent --peer-heartbeat</c>, read at start); null: the
    /// default (Peer/PeerHeartbeat.cs).</summary>
    public TimeSpan? PeerHeartbeat { get; init; }
}
