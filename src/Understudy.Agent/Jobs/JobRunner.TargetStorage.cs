using Understudy.Agent.Events;
using Understudy.Core.Jobs;

namespace Understudy.Agent.Jobs;

/// <summary>
/// The target's disk failing under the replica (EIO on a write, a failed syncfs or fsync, a tree it cannot list): the
/// target ends the session with ApplyFailed Io and acknowledges nothing that was not durable. Before, the source took
/// that for a lost link: `disconnected`, "target unreachable", and `wait` waited until its time-out while nothing
/// moved. Now the job is in <see cref="JobState.Error"/> with the target's reason (so `wait` fails at once), with one
/// event, and keeps retrying with back-off: the queue keeps every record the target did not acknowledge, and the
/// next session sends them again. The first acknowledgement after the fault (something made durable there) heals it.
/// </summary>
internal sealed partial class JobRunner
{
    /// <summary>Non-null while the target cannot write the replica: the reason shown in status instead of a working state.</summary>
    private volatile string? _targetFault;

    private DateTimeOffset _targetFaultSince;

    /// <summary>The state the job's work last asked for (<see cref="SetState"/>): what status shows again once the fault heals.</summary>
    private (JobState State, string? Reason) _wanted;

    /// <summary>States that claim the job is moving data (or only that the link is down); a target fault is shown instead.</summary>
    private static bool IsWorking(JobState s) =>
        s is JobState.Connecting or JobState.Mirroring or JobState.Verifying or JobState.Replicating or JobState.InSync or JobState.Disconnected;

    private void OnTargetStorageFault(string message)
    {
        var reason = $"the target cannot write the replica ({message}): nothing more is acknowledged, changes stay queued here and are sent again; resumes by itself when the target can write again";
        if (_targetFault is null)
        {
            _targetFaultSince = _ctx.Time.GetUtcNow();
            _ctx.Events.Record(EventCode.TargetStorageFault, Severity.Error, "replication", Job.Name, reason);
        }
        _targetFault = reason;
        Publish(_wanted.State, _wanted.Reason);
    }

    /// <summary>An acknowledgement: the target made something durable again, so its disk works.</summary>
    private void OnTargetAcked()
    {
        if (_targetFault is null)
            return;
        var lasted = _ctx.Time.GetUtcNow() - _targetFaultSince;
        _targetFault = null;
        _ctx.Events.Record(EventCode.TargetStorageHealed, Severity.Info, "replication", Job.Name,
            $"the target writes the replica again after {lasted.TotalSeconds:0} s: replication resumes");
        Publish(_wanted.State, _wanted.Reason);
    }
}
