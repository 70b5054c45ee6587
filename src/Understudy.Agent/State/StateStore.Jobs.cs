namespace Understudy.Agent.State;

internal sealed record StoredJob(string Name, string Yaml, string AppliedAt, string? Runtime);

internal sealed record HostedJob(string SourceId, string Job, string TargetPath, string SourceName, string RegisteredAt, long LastSeq);

internal sealed partial class StateStore
{
    public void SaveJob(string name, string yaml) =>
        ExecDurable("INSERT INTO jobs (name, yaml, applied_at) VALUES ($n, $y, $at) ON CONFLICT(name) DO UPDATE SET yaml = $y, applied_at = $at",
            ("$n", name), ("$y", yaml), ("$at", Now()));

    public void SaveJobRuntime(string name, string runtimeJson) =>
        Exec("UPDATE jobs SET runtime = $r WHERE name = $n", ("$n", name), ("$r", runtimeJson));

    public bool RemoveJob(string name)
    {
        bool existed = ListJobs().Any(j => j.Name == name);
        ExecDurable("DELETE FROM jobs WHERE name = $n", ("$n", name));
        return existed;
    }

    public IReadOnlyList<StoredJob> ListJobs() =>
        Query("SELECT name, yaml, applied_at, runtime FROM jobs ORDER BY name",
            r => new StoredJob(r.GetString(0), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3)));

    public void SaveHosted(string sourceId, string job, string targetPath, string sourceName) =>
        ExecDurable("""
            INSERT INTO hosted (source_id, job, target_path, source_name, registered_at) VALUES ($s, $j, $p, $sn, $at)
            ON CONFLICT(source_id, job) DO UPDATE SET target_path = $p, source_name = $sn
            """, ("$s", sourceId), ("$j", job), ("$p", targetPath), ("$sn", sourceName), ("$at", Now()));

    public void RemoveHosted(string sourceId, string job) =>
        ExecDurable("DELETE FROM hosted WHERE source_id = $s AND job = $j", ("$s", sourceId), ("$j", job));

    public void SaveHostedSeq(string sourceId, string job, long seq) =>
        Exec("UPDATE hosted SET last_seq = $q WHERE source_id = $s AND job = $j", ("$s", sourceId), ("$j", job), ("$q", seq));

    public IReadOnlyList<HostedJob> ListHosted() =>
        Query("SELECT source_id, job, target_path, source_name, registered_at, last_seq FROM hosted ORDER BY job",
            r => new HostedJob(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetInt64(5)));

    public string? GetValue(string key) => Query("SELECT value FROM kv WHERE key = $k", r => r.GetString(0), ("$k", key)).FirstOrDefault();

    public void SetValue(string key, string value) =>
        ExecDurable("INSERT INTO kv (key, value) VALUES ($k, $v) ON CONFLICT(key) DO UPDATE SET value = $v", ("$k", key), ("$v", value));
}
