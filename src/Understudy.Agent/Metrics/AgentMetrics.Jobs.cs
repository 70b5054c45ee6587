using Understudy.Core.Api;

namespace Understudy.Agent.Metrics;

internal sealed partial class AgentMetrics
{
    /// <summary>Source jobs, labelled <c>job</c>: the values of <c>understudy status --json</c> (docs/cli.md).</summary>
    private void WriteJobs(PrometheusText m, DateTimeOffset now)
    {
        var jobs = s.Jobs.Runners.Select(s.Jobs.Status).OrderBy(j => j.Name, StringComparer.Ordinal).ToList();

        m.Gauge("understudy_job_info", "A source job: its target and consistency (always 1).");
        foreach (var j in jobs)
            m.Sample(1, ("job", j.Name), ("target", j.Target), ("target_path", j.TargetPath), ("consistency", j.Consistency));
        m.Gauge("understudy_job_state", "A source job's state: 1 for the state it is in, 0 for the others (the words of 'understudy status').");
        foreach (var j in jobs)
        {
            foreach (var st in Enum.GetValues<JobState>())
                m.Sample(j.State == st, ("job", j.Name), ("state", st.Name()));
        }
        m.Gauge("understudy_job_mirrored", "1 once the job's first mirror completed (the target holds a full copy).");
        foreach (var j in jobs)
            m.Sample(j.Mirrored, ("job", j.Name));
        m.Gauge("understudy_job_idle", "1 when the job has nothing to do: in sync, nothing queued or in flight.");
        foreach (var j in jobs)
            m.Sample(j.Idle, ("job", j.Name));
        m.Gauge("understudy_job_unprotected_entries", "Entries the target cannot take (left out of the copy; 'status' lists them).");
        foreach (var j in jobs)
            m.Sample(j.NotProtected.Count, ("job", j.Name));

        WriteReplication(m, jobs);
        WriteMirror(m, jobs);
        WriteVerify(m, jobs, s.Jobs.Runners.ToDictionary(r => r.Job.Name, r => r.LastVerifyAt, StringComparer.Ordinal), now);
    }

    private static void WriteReplication(PrometheusText m, List<JobStatusView> jobs)
    {
        m.Gauge("understudy_replication_enabled", "1 when the job replicates changes continuously after its mirror.");
        foreach (var j in jobs)
            m.Sample(j.Replication.Enabled, ("job", j.Name));
        m.Gauge("understudy_replication_paused", "1 while an operator paused replication ('understudy pause').");
        foreach (var j in jobs)
            m.Sample(j.Replication.Paused, ("job", j.Name));
        m.Gauge("understudy_replication_remirror_required", "1 when the queue limit was passed and only a mirror can bring the target up to date.");
        foreach (var j in jobs)
            m.Sample(j.Replication.RemirrorRequired, ("job", j.Name));
        m.Gauge("understudy_replication_lag_operations", "Changes captured and not yet acknowledged by the target (the replication queue's length).");
        foreach (var j in jobs)
            m.Sample(j.Replication.OpsPending, ("job", j.Name));
        m.Gauge("understudy_replication_lag_bytes", "Bytes of the replication queue's records not yet acknowledged by the target.");
        foreach (var j in jobs)
            m.Sample(j.Replication.BytesPending, ("job", j.Name));
        m.Gauge("understudy_replication_lag_seconds",
            "Age of the oldest change not yet on the target (queued, or held back as a file still being written): what a fail-over now would lose. 0 when nothing is pending.");
        foreach (var j in jobs)
            m.Sample(j.Replication.OldestPendingAgeSeconds ?? 0, ("job", j.Name));
        m.Gauge("understudy_replication_queue_last_sequence", "Sequence number of the newest change in the replication queue.");
        foreach (var j in jobs)
            m.Sample(j.Replication.LastSeq, ("job", j.Name));
        m.Gauge("understudy_replication_queue_acknowledged_sequence", "Sequence number up to which the target acknowledged the queue (durable there).");
        foreach (var j in jobs)
            m.Sample(j.Replication.AckedSeq, ("job", j.Name));
        m.Counter("understudy_replication_sent_operations_total", "Changes sent to the target by this job's runner since it started.");
        foreach (var j in jobs)
            m.Sample(j.Replication.OpsSent, ("job", j.Name));
        m.Counter("understudy_job_sent_bytes_total", "Bytes sent on the job's peer connections (mirror and replication, after compression) since its runner started.");
        foreach (var j in jobs)
            m.Sample(j.Replication.BytesSent, ("job", j.Name));
        m.Gauge("understudy_replication_bandwidth_limit_bytes_per_second", "The job's bandwidth limit (0: none).");
        foreach (var j in jobs)
            m.Sample(j.Replication.BandwidthBytesPerSecond, ("job", j.Name));
        m.Gauge("understudy_capture_watched_directories", "Directories the change capture watches (1 per fanotify filesystem mark).");
        foreach (var j in jobs)
            m.Sample(j.Replication.Watch?.DirectoriesWatched ?? 0, ("job", j.Name));
        m.Gauge("understudy_write_order_point_age_seconds",
            "Write-order jobs: seconds since the moment the source last equalled the point the target holds (the RPO clock).");
        foreach (var j in jobs)
        {
            if (j.WriteOrder?.AgeSeconds is { } age)
                m.Sample(age, ("job", j.Name));
        }
    }

    private static void WriteMirror(PrometheusText m, List<JobStatusView> jobs)
    {
        var mirrors = jobs.Where(j => j.Mirror is not null).Select(j => (j.Name, P: j.Mirror!)).ToList();
        m.Gauge("understudy_mirror_running", "1 while a mirror (or repair) runs for the job.");
        foreach (var j in jobs)
            m.Sample(j.Mirror is { FinishedAt: null }, ("job", j.Name));
        m.Gauge("understudy_mirror_files", "Files of the current or last mirror: planned in total, and done.");
        foreach (var (name, p) in mirrors)
        {
            m.Sample(p.FilesTotal, ("job", name), ("of", "planned"));
            m.Sample(p.FilesDone, ("job", name), ("of", "done"));
        }
        m.Gauge("understudy_mirror_bytes", "Bytes of the current or last mirror: planned in total, and done.");
        foreach (var (name, p) in mirrors)
        {
            m.Sample(p.BytesTotal, ("job", name), ("of", "planned"));
            m.Sample(p.BytesDone, ("job", name), ("of", "done"));
        }
        m.Gauge("understudy_mirror_rate_bytes_per_second", "The current or last mirror's transfer rate.");
        foreach (var (name, p) in mirrors)
            m.Sample(p.RateBytesPerSecond, ("job", name));
        m.Gauge("understudy_mirror_eta_seconds", "Seconds the running mirror still needs, as estimated (absent when unknown).");
        foreach (var (name, p) in mirrors)
        {
            if (p.EtaSeconds is { } eta && p.FinishedAt is null)
                m.Sample(eta, ("job", name));
        }
        m.Gauge("understudy_mirror_last_completed_timestamp_seconds", "When the job's last mirror completed, in seconds since the Unix epoch.");
        foreach (var j in jobs)
        {
            if (Seconds(j.LastMirrorAt) is { } t)
                m.Sample(t, ("job", j.Name));
        }
    }

    /// <summary>The last verify's time as a timestamp, Prometheus' convention (an age is <c>time() - …</c> in a query and a
    /// timestamp stays right between scrapes), and its age beside it for dashboards and simple alerts. Only verifies the
    /// job's runner ran have a result here (since the agent started or the job was last applied); the time is the stored one.</summary>
    private static void WriteVerify(PrometheusText m, List<JobStatusView> jobs, Dictionary<string, DateTimeOffset?> endedAt, DateTimeOffset now)
    {
        var verified = jobs.Where(j => j.LastVerify is not null).Select(j => (j.Name, V: j.LastVerify!)).ToList();
        var ended = jobs.Where(j => endedAt.GetValueOrDefault(j.Name) is not null).Select(j => (j.Name, At: endedAt[j.Name]!.Value)).ToList();
        m.Gauge("understudy_verify_last_timestamp_seconds",
            "When the job's last verify ended (or a scheduled one could not run), in seconds since the Unix epoch; kept across agent restarts.");
        foreach (var (name, at) in ended)
            m.Sample(Seconds(at), ("job", name));
        m.Gauge("understudy_verify_last_age_seconds", "Seconds since the job's last verify ended (or a scheduled one could not run).");
        foreach (var (name, at) in ended)
            m.Sample(Math.Max(0, (now - at).TotalSeconds), ("job", name));
        m.Gauge("understudy_verify_last_identical", "1 when the last verify found source and target identical, 0 when it found differences.");
        foreach (var (name, v) in verified)
            m.Sample(v.Identical, ("job", name));
        m.Gauge("understudy_verify_last_differences", "Differences the last verify found.");
        foreach (var (name, v) in verified)
            m.Sample(v.Differences.Count, ("job", name));
        m.Gauge("understudy_verify_last_checked_entries", "Entries the last verify compared.");
        foreach (var (name, v) in verified)
            m.Sample(v.EntriesChecked, ("job", name));
    }
}
