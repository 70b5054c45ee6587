using Understudy.Agent.Target;

namespace Understudy.Agent.Failover;

/// <summary>Stops replication through TargetService for the take-over's first step.</summary>
internal sealed class TargetReplicationControl(TargetService target) : IReplicationControl
{
    public Task<long> StopAsync(string sourceId, string job, CancellationToken ct) => target.StopForFailoverAsync(sourceId, job, ct);

    public PointHeld? Held(string sourceId, string job) => target.Held(sourceId, job);
}
