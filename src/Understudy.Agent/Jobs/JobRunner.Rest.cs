using Understudy.Agent.Failover;
using Understudy.Agent.Source;

namespace Understudy.Agent.Jobs;

// Resting: no command waits and nothing is to be sent (paused, or a job without replication after its mirror).
internal sealed partial class JobRunner
{
    private static readonly TimeSpan RestRetryFirst = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan RestRetryMax = TimeSpan.FromSeconds(10);

    private TimeSpan _restRetry = RestRetryFirst;

    /// <summary>
    /// Waits for the next command or change. A mirrored job keeps its link to the target open meanwhile, paused
    /// too: its queue figures keep reaching the target (a fail-over quotes them), and when a fail-over ends the
    /// session, the reconnect is refused with Passive, so the job turns passive and the passive poller takes it
    /// into the restore. A paused runner that only waited for a command never noticed its session end, and the
    /// restore after a planned fail-over of a paused job waited for ever. A target that cannot be reached changes
    /// nothing here (the job stays as it is: paused, say); the link is tried again with back-off.
    /// </summary>
    private async Task RestAsync(Task wake, CancellationToken ct)
    {
        if (!Mirrored || State == JobState.Error || PassiveGuard.ReasonFor(_ctx, Job.Name) is not null)
        {
            await wake.WaitAsync(ct);
            return;
        }
        try
        {
            var session = await EnsureSessionAsync(ct);
            _restRetry = RestRetryFirst;
            await Task.WhenAny(wake, session.Faulted).WaitAsync(ct); // a session that ended is opened again on the next pass
            return;
        }
        catch (Exception thrown) when (thrown is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            var e = _session?.Faulted is { IsFaulted: true } f && f.Exception?.InnerException is TargetException te ? te : thrown;
            await DropSessionAsync();
            if (PassiveGuard.Observe(e, _ctx, Job.Name))
            {
                SetState(PassiveGuard.State, e.Message);
                return;
            }
        }
        await Task.WhenAny(wake, Task.Delay(_restRetry, _ctx.Time, ct));
        _restRetry = TimeSpan.FromTicks(Math.Min(_restRetry.Ticks * 2, RestRetryMax.Ticks));
    }
}
