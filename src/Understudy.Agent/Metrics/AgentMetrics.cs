using Understudy.Agent.Events;

namespace Understudy.Agent.Metrics;

/// <summary>
/// <c>GET /metrics</c> (docs/monitoring.md): the agent's state in the Prometheus text format, read from the same views
/// <c>status</c> shows at the moment of the scrape, so the two never disagree. Names follow Prometheus' conventions:
/// the <c>understudy_</c> prefix, base units in the name (<c>_seconds</c>, <c>_bytes</c>), <c>_total</c> for counters,
/// a state as one 0/1 series per possible value. Split by concern: the agent here, source jobs in
/// AgentMetrics.Jobs.cs, hosted jobs and fail-over in AgentMetrics.Failover.cs.
/// </summary>
internal sealed partial class AgentMetrics(MetricsSources s)
{
    public string Render()
    {
        var now = s.Context.Time.GetUtcNow();
        var m = new PrometheusText();
        WriteAgent(m, now);
        WriteJobs(m, now);
        WriteHosted(m);
        WriteFailover(m, now);
        return m.ToString();
    }

    private void WriteAgent(PrometheusText m, DateTimeOffset now)
    {
        var ctx = s.Context;
        m.Gauge("understudy_agent_info", "The agent answering: its ID, name and version (always 1).")
            .Sample(1, ("id", ctx.Identity.Id), ("name", ctx.AgentName), ("version", s.Version));
        m.Gauge("understudy_agent_start_time_seconds", "When the agent started, in seconds since the Unix epoch.")
            .Sample(s.StartedAt.ToUnixTimeMilliseconds() / 1000.0);
        m.Gauge("understudy_agent_uptime_seconds", "Seconds since the agent started.")
            .Sample(Math.Max(0, (now - s.StartedAt).TotalSeconds));

        // Loops this agent must keep running. Independent of any supervisor: a loop task that completed while its
        // owner still runs is a loop that died. A stopped job has no loop and no series.
        m.Gauge("understudy_loop_up", "1 while a background loop of the agent runs, 0 when it has ended (a dead loop: see the event log).");
        m.Sample(s.Passive.Running, ("loop", "passive-poller"), ("job", ""));
        foreach (var r in s.Jobs.Runners.OrderBy(r => r.Job.Name, StringComparer.Ordinal))
        {
            if (r.State != Core.Api.JobState.Stopped)
                m.Sample(r.LoopRunning, ("loop", "job"), ("job", r.Job.Name));
        }
        foreach (var e in s.Failover.Engines)
        {
            m.Sample(e.MonitorRunning, ("loop", "failover-monitor"), ("job", e.Job));
            if (e.WitnessReleaseRunning is { } releases)
                m.Sample(releases, ("loop", "witness-release"), ("job", e.Job));
        }
        m.Sample(s.Notifier.Running, ("loop", "notifier"), ("job", ""));
        // Every other supervised loop (a job's replication and scheduled verify, the source's witness and demotion loops,
        // a restore run…): 0 while it waits to run again after a failure.
        string[] listed = ["passive-poller", "failover-monitor", "witness-release", "notifier"];
        foreach (var l in ctx.Loops.Loops.Where(l => !listed.Contains(l.Name)).DistinctBy(l => (l.Name, l.Job)))
            m.Sample(l.Failure is null ? 1 : 0, ("loop", l.Name), ("job", l.Job ?? ""));

        m.Gauge("understudy_peer_connections", "Peer connections this agent accepted and still has open (sources replicating to it, restore polls).")
            .Sample(s.PeerConnections());
        m.Gauge("understudy_source_jobs", "Jobs this agent is source of.").Sample(s.Jobs.Runners.Count);

        m.Gauge("understudy_event_log_events", "Events stored in the event log.").Sample(ctx.Store.CountEvents());
        m.Gauge("understudy_event_log_held_events", "Events held in memory because the event log could not be written (0 normally).")
            .Sample(ctx.Events.Held);
        m.Counter("understudy_events_recorded_total", "Events recorded since the agent started, by severity.");
        foreach (var (severity, n) in ctx.Events.RecordedBySeverity())
            m.Sample(n, ("severity", severity));
        m.Gauge("understudy_state_db_bytes", "Size of the agent's state database (jobs, trust, fail-over state, the event log) and its write-ahead log.")
            .Sample(ctx.Store.DatabaseBytes());

        WriteNotify(m);
    }

    private void WriteNotify(PrometheusText m)
    {
        var stats = s.Notifier.Stats();
        m.Gauge("understudy_notify_destinations", "Notification destinations configured (docs/monitoring.md).").Sample(stats.Count);
        m.Counter("understudy_notify_deliveries_total", "Notifications delivered since the agent started, per destination.")
            .Each(stats, d => d.Delivered, d => [("destination", d.Name)]);
        m.Counter("understudy_notify_failures_total", "Notifications given up after every attempt failed (or dropped from a full queue), per destination.")
            .Each(stats, d => d.Failed, d => [("destination", d.Name)]);
        m.Gauge("understudy_notify_queued", "Notifications waiting for delivery (including those waiting to be retried), per destination.")
            .Each(stats, d => d.Queued, d => [("destination", d.Name)]);
    }

    private static double Seconds(DateTimeOffset t) => t.ToUnixTimeMilliseconds() / 1000.0;

    private static double? Seconds(string? iso) =>
        iso is not null && DateTimeOffset.TryParse(iso, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind, out var t)
            ? Seconds(t) : null;
}
