using Understudy.Agent.Target;

namespace Understudy.Agent.Failover;

/// <summary>
/// Stops replication through TargetService for the take-over's first step. The agent's one wiring cycle closes here:
/// the target asks fail-over about every source that connects (<see cref="ITargetFailoverHooks"/>, given to its
/// constructor), and a take-over stops the target's replication through this control. So fail-over is built first,
/// holding the control, and the host binds it to the target as soon as that is built, once and before anything
/// starts; a take-over runs only after start, so no call finds it unbound (one that did would throw, not skip the stop).
/// </summary>
internal sealed class TargetReplicationControl : IReplicationControl
{
    private TargetService? _target;

    /// <exception cref="InvalidOperationException">The control is bound already.</exception>
    public void Bind(TargetService target)
    {
        if (Interlocked.CompareExchange(ref _target, target, null) is not null)
            throw new InvalidOperationException("the replication control is bound to a target already");
    }

    private TargetService Target => Volatile.Read(ref _target) ?? throw new InvalidOperationException("the replication control is not bound to the target");

    public Task<long> StopAsync(string sourceId, string job, CancellationToken ct) => Target.StopForFailoverAsync(sourceId, job, ct);

    public PointHeld? Held(string sourceId, string job) => Target.Held(sourceId, job);

    public DateTimeOffset? LinkEndedAt(string sourceId, string job) => Target.LinkEndedAt(sourceId, job);
}
