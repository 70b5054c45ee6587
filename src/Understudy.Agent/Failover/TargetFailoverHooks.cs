using Understudy.Agent.Target;

namespace Understudy.Agent.Failover;

/// <summary>What TargetService asks of the fail-over side: kept to three calls so the replication code stays its own.</summary>
internal interface ITargetFailoverHooks
{
    /// <summary>Non-null: refuse the source's OpenJob with ErrorCode.Passive and this text.</summary>
    string? RefusalFor(string sourceId, string job);

    Task OnRegisteredAsync(string sourceId, string sourceName, string job, string jobJson);

    void OnSourceStatus(string sourceId, string job, string json);
}

/// <summary>Stops replication through TargetService for the take-over's first step.</summary>
internal sealed class TargetReplicationControl(TargetService target) : IReplicationControl
{
    public Task<long> StopAsync(string sourceId, string job, CancellationToken ct) => target.StopForFailoverAsync(sourceId, job, ct);

    public PointHeld? Held(string sourceId, string job) => target.Held(sourceId, job);
}
