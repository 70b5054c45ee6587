using Understudy.Agent.Failover;

namespace Understudy.Agent.Metrics;

internal sealed partial class AgentMetrics
{
    /// <summary>The labels of a fail-over engine's sample in most families.</summary>
    private static readonly Func<Core.Api.FailoverView, (string Name, string Value)[]> ByEngine = v => [("job", v.Name), ("source", v.SourceName)];

    /// <summary>Jobs this agent is target of, labelled <c>job</c> and <c>source</c> (the source agent's name).</summary>
    private void WriteHosted(PrometheusText m)
    {
        var hosted = s.Target.List().OrderBy(h => h.Job, StringComparer.Ordinal).ThenBy(h => h.SourceName, StringComparer.Ordinal).ToList();
        Func<State.HostedJob, (string, string)[]> labels = h => [("job", h.Job), ("source", h.SourceName), ("source_id", h.SourceId)];
        m.Gauge("understudy_hosted_job_connected", "Jobs this agent is target of: 1 while the source's session for the job is open.")
            .Each(hosted, h => s.Target.IsActive(h.SourceId, h.Job), labels);
        m.Gauge("understudy_hosted_job_applied_sequence", "Jobs this agent is target of: the source's queue sequence applied and durable here.")
            .Each(hosted, h => h.LastSeq, labels);
    }

    /// <summary>Fail-over engines (on the target), labelled <c>job</c> and <c>source</c>.</summary>
    private void WriteFailover(PrometheusText m, DateTimeOffset now)
    {
        var views = s.Failover.Engines.Select(e => e.View()).ToList();
        m.Gauge("understudy_failover_state",
            "A hosted job's fail-over state: 1 for the state it is in, 0 for the others (fail-over-pending: waiting for an operator).");
        foreach (var v in views)
        {
            foreach (var st in Enum.GetValues<FailoverState>())
                m.Sample(v.State == st.Name(), ("job", v.Name), ("source", v.SourceName), ("state", st.Name()));
        }
        m.Gauge("understudy_failover_automatic", "1 when the job fails over by itself (trigger automatic), 0 when an operator confirms (manual).")
            .Each(views, v => v.Trigger == "automatic", ByEngine);
        m.Gauge("understudy_failover_dismissed", "1 while an operator's dismissal of a pending fail-over holds (until the source answers again).")
            .Each(views, v => v.Dismissed, ByEngine);
        m.Gauge("understudy_failover_monitor_misses_limit", "Consecutive missed probes after which the source counts as lost (monitor.misses).")
            .Each(views, v => v.Misses, ByEngine);
        m.Gauge("understudy_failover_monitor_interval_seconds", "Seconds between probes of the monitor (monitor.interval).")
            .Each(views, v => v.IntervalSeconds, ByEngine);
        m.Gauge("understudy_failover_monitor_misses", "Consecutive probes of a watched address that got no answer (0 while it answers).");
        foreach (var v in views)
        {
            foreach (var a in v.Addresses)
                m.Sample(a.Misses, ("job", v.Name), ("source", v.SourceName), ("address", a.Address), ("method", a.Method));
        }
        m.Gauge("understudy_failover_monitor_address_up", "1 while a watched address answers its probes, 0 once it counts as missing (absent while unknown).");
        foreach (var v in views)
        {
            foreach (var a in v.Addresses.Where(a => a.State != "unknown"))
                m.Sample(a.State == "up", ("job", v.Name), ("source", v.SourceName), ("address", a.Address), ("method", a.Method));
        }
        m.Gauge("understudy_failover_time_left_seconds", "Seconds until the monitor would act (fail over, or raise pending) if nothing answered again; absent when it would not.");
        foreach (var v in views)
        {
            if (v.TimeLeftSeconds is { } left)
                m.Sample(left, ("job", v.Name), ("source", v.SourceName));
        }
        m.Gauge("understudy_failover_source_queue_operations", "The source's last report of changes it had not seen acknowledged: what a fail-over now would lose.")
            .Each(views, v => v.SourceQueue is { } q ? q.Ops : null, ByEngine);
        m.Gauge("understudy_failover_source_queue_bytes", "Bytes of queue records in the source's last report.")
            .Each(views, v => v.SourceQueue is { } q ? q.Bytes : null, ByEngine);
        m.Gauge("understudy_failover_source_report_age_seconds", "Seconds since the source's last queue report arrived (it reports about once a second while connected).")
            .Each(views, v => v.SourceQueue is { } q && Seconds(q.ReportedAt) is { } at ? Math.Max(0, Seconds(now) - at) : null, ByEngine);
    }
}
