using Understudy.Agent.Common;
using Understudy.Agent.Failover;
using Understudy.Agent.Jobs;
using Understudy.Agent.Notify;
using Understudy.Agent.Restore;
using Understudy.Agent.Target;

namespace Understudy.Agent.Metrics;

/// <summary>What <see cref="AgentMetrics"/> reads at each scrape: the agent's services as <c>AgentHost</c> built them.
/// <paramref name="PeerConnections"/>: the peer listener's open sessions (the listener is the host's own).</summary>
internal sealed record MetricsSources(AgentContext Context, string Version, DateTimeOffset StartedAt, JobManager Jobs, TargetService Target,
    FailoverManager Failover, PassivePoller Passive, Notifier Notifier, Func<int> PeerConnections);
