namespace Understudy.Agent.Failover;

internal sealed partial class FailoverEngine
{
    public FailoverView View()
    {
        lock (_lock)
        {
            var interval = Settings.Monitor.Interval;
            var left = FailoverDecider.TimeLeft(State, [.. _watches.Select(w => w.Misses)], DecisionSettings.From(Settings), interval, Dismissed);
            return new FailoverView(Job, SourceId, SourceName, State.Name(), Reason,
                Core.Jobs.JobEnum<Core.Jobs.FailoverTrigger>.Name(Settings.Trigger), Core.Jobs.JobEnum<Core.Jobs.FailoverMode>.Name(Settings.Mode),
                Core.Jobs.JobEnum<Core.Jobs.MonitorPolicy>.Name(Settings.Monitor.Policy), interval.TotalSeconds, Settings.Monitor.Misses, Dismissed,
                left?.TotalSeconds,
                [.. _watches.Select(w => new AddressWatchView(w.Address.Address, Core.Jobs.JobEnum<Core.Jobs.MonitorMethod>.Name(w.Address.Method),
                    w.Address.Port ?? Core.Jobs.MonitorAddress.DefaultPort(w.Address.Method),
                    w.Up switch { true => "up", false => "missing", null => "unknown" }, w.Misses, w.LastReply?.ToString("O"), w.Address.Label, w.Address.Weight))],
                State is FailoverState.Restoring or FailoverState.FailingBack ? _restoreRun?.View() : null,
                LastSourceReport, new Core.Api.PlanApprovalView(PlanDigest, Approved, Approval?.At), Claim?.View());
        }
    }
}
