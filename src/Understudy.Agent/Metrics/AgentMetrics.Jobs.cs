using Understudy.Core.Api;

namespace Understudy.Agent.Metrics;

internal sealed partial class AgentMetrics
{
    /// <summary>The label of a job's sample in most families.</summary>
    private static readonly Func<JobStatusView, (string Name, string Value)[]> ByJob = j => [("job", j.Name)];

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
        m.Gauge("understudy_job_mirrored", "1 once the job's first mirror completed (the target holds a full copy).")
            .Each(jobs, j => j.Mirrored, ByJob);
        m.Gauge("understudy_job_idle", "1 when the job has nothing to do: in sync, nothing queued or in flight.")
            .Each(jobs, j => j.Idle, ByJob);
        m.Gauge("understudy_job_unprotected_entries", "Entries the target cannot take (left out of the copy; 'status' lists them).")
            .Each(jobs, j => j.NotProtected.Count, ByJob);

        WriteReplication(m, jobs);
        WriteMirror(m, jobs);
        WriteVerify(m, jobs, s.Jobs.Runners.ToDictionary(r => r.Job.Name, r => r.LastVerifyAt, StringComparer.Ordinal), now);
    }

    private static void WriteReplication(PrometheusText m, List<JobStatusView> jobs)
    {
        m.Gauge("understudy_replication_enabled", "1 when the job replicates changes continuously after its mirror.")
            .Each(jobs, j => j.Replication.Enabled, ByJob);
        m.Gauge("understudy_replication_paused", "1 while an operator paused replication ('understudy pause').")
            .Each(jobs, j => j.Replication.Paused, ByJob);
        m.Gauge("understudy_replication_remirror_required", "1 when the queue limit was passed and only a mirror can bring the target up to date.")
            .Each(jobs, j => j.Replication.RemirrorRequired, ByJob);
        m.Gauge("understudy_replication_lag_operations", "Changes captured and not yet acknowledged by the target (the replication queue's length).")
            .Each(jobs, j => j.Replication.OpsPending, ByJob);
        m.Gauge("understudy_replication_lag_bytes", "Bytes of the replication queue's records not yet acknowledged by the target.")
            .Each(jobs, j => j.Replication.BytesPending, ByJob);
        m.Gauge("understudy_replication_lag_seconds",
            "Age of the oldest change not yet on the target (queued, or held back as a file still being written): what a fail-over now would lose. 0 when nothing is pending.")
            .Each(jobs, j => j.Replication.OldestPendingAgeSeconds ?? 0, ByJob);
        m.Gauge("understudy_replication_queue_last_sequence", "Sequence number of the newest change in the replication queue.")
            .Each(jobs, j => j.Replication.LastSeq, ByJob);
        m.Gauge("understudy_replication_queue_acknowledged_sequence", "Sequence number up to which the target acknowledged the queue (durable there).")
            .Each(jobs, j => j.Replication.AckedSeq, ByJob);
        m.Counter("understudy_replication_sent_operations_total", "Changes sent to the target by this job's runner since it started.")
            .Each(jobs, j => j.Replication.OpsSent, ByJob);
        m.Counter("understudy_job_sent_bytes_total", "Bytes sent on the job's peer connections (mirror and replication, after compression) since its runner started.")
            .Each(jobs, j => j.Replication.BytesSent, ByJob);
        m.Gauge("understudy_replication_bandwidth_limit_bytes_per_second", "The job's bandwidth limit (0: none).")
            .Each(jobs, j => j.Replication.BandwidthBytesPerSecond, ByJob);
        m.Gauge("understudy_capture_watched_directories", "Directories the change capture watches (1 per fanotify filesystem mark).")
            .Each(jobs, j => j.Replication.Watch?.DirectoriesWatched ?? 0, ByJob);
        m.Gauge("understudy_write_order_point_age_seconds",
            "Write-order jobs: seconds since the moment the source last equalled the point the target holds (the RPO clock).")
            .Each(jobs, j => j.WriteOrder?.AgeSeconds, ByJob);
    }

    private static void WriteMirror(PrometheusText m, List<JobStatusView> jobs)
    {
        var mirrors = jobs.Where(j => j.Mirror is not null).Select(j => (j.Name, P: j.Mirror!)).ToList();
        m.Gauge("understudy_mirror_running", "1 while a mirror (or repair) runs for the job.")
            .Each(jobs, j => j.Mirror is { FinishedAt: null }, ByJob);
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
        m.Gauge("understudy_mirror_rate_bytes_per_second", "The current or last mirror's transfer rate.")
            .Each(mirrors, x => x.P.RateBytesPerSecond, x => [("job", x.Name)]);
        m.Gauge("understudy_mirror_eta_seconds", "Seconds the running mirror still needs, as estimated (absent when unknown).")
            .Each(mirrors, x => x.P.FinishedAt is null ? x.P.EtaSeconds : null, x => [("job", x.Name)]);
        m.Gauge("understudy_mirror_last_completed_timestamp_seconds", "When the job's last mirror completed, in seconds since the Unix epoch.")
            .Each(jobs, j => Seconds(j.LastMirrorAt), ByJob);
    }

    /// <summary>The last verify's time as a timestamp, Prometheus' convention (an age is <c>time() - …</c> in a query and a
    /// timestamp stays right between scrapes), and its age beside it for dashboards and simple alerts. Only verifies the
    /// job's runner ran have a result here (since the agent started or the job was last applied); the time is the stored one.</summary>
    private static void WriteVerify(PrometheusText m, List<JobStatusView> jobs, Dictionary<string, DateTimeOffset?> endedAt, DateTimeOffset now)
    {
        var verified = jobs.Where(j => j.LastVerify is not null).Select(j => (j.Name, V: j.LastVerify!)).ToList();
        var ended = jobs.Where(j => endedAt.GetValueOrDefault(j.Name) is not null).Select(j => (j.Name, At: endedAt[j.Name]!.Value)).ToList();
        m.Gauge("understudy_verify_last_timestamp_seconds",
            "When the job's last verify ended (or a scheduled one could not run), in seconds since the Unix epoch; kept across agent restarts.")
            .Each(ended, x => Seconds(x.At), x => [("job", x.Name)]);
        m.Gauge("understudy_verify_last_age_seconds", "Seconds since the job's last verify ended (or a scheduled one could not run).")
            .Each(ended, x => Math.Max(0, (now - x.At).TotalSeconds), x => [("job", x.Name)]);
        m.Gauge("understudy_verify_last_identical", "1 when the last verify found source and target identical, 0 when it found differences.")
            .Each(verified, x => x.V.Identical, x => [("job", x.Name)]);
        m.Gauge("understudy_verify_last_differences", "Differences the last verify found.")
            .Each(verified, x => x.V.Differences.Count, x => [("job", x.Name)]);
        m.Gauge("understudy_verify_last_checked_entries", "Entries the last verify compared.")
            .Each(verified, x => x.V.EntriesChecked, x => [("job", x.Name)]);
    }
}
