namespace Understudy.Agent.Jobs;

internal sealed partial class JobRunner
{
    /// <summary>The job's session is open and the target's heartbeat on it on schedule.</summary>
    public bool TargetOnSchedule => _session is { Faulted.IsCompleted: false } s && s.Connection.HeartbeatOnSchedule;

    /// <summary>How long since the target last sent this job's open session a frame; null while no session is open (Failover/TargetContact).</summary>
    public TimeSpan? TargetSilentFor => _session is { Faulted.IsCompleted: false } s ? s.Connection.SinceLastFrame : null;
}
