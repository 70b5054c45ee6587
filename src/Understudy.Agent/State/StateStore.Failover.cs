namespace Understudy.Agent.State;

/// <summary>A hosted job's fail-over record on the target: the job spec the source sent, and where the state machine stands.</summary>
internal sealed record StoredFailover(string SourceId, string Job, string SpecJson, string State, string? Reason, bool Dismissed, string? InFlight, string UpdatedAt,
    StoredApproval? Approval = null);

/// <summary>The plan this target's operator approved: its digest, the spec it was computed from (to show what changed), and when.</summary>
internal sealed record StoredApproval(string Digest, string SpecJson, string At);

/// <summary>One step of a fail-over (or fail-back) run, recorded before it is taken.</summary>
internal sealed record StoredStep(int Index, string Name, string Status, string? Data, string? Detail);

internal sealed partial class StateStore
{
    private void CreateFailoverTables() => Exec("""
        CREATE TABLE IF NOT EXISTS failover (source_id TEXT NOT NULL, job TEXT NOT NULL, spec TEXT NOT NULL, state TEXT NOT NULL,
            reason TEXT, dismissed INTEGER NOT NULL DEFAULT 0, in_flight TEXT, updated_at TEXT NOT NULL, PRIMARY KEY (source_id, job));
        CREATE TABLE IF NOT EXISTS failover_steps (source_id TEXT NOT NULL, job TEXT NOT NULL, phase TEXT NOT NULL, idx INTEGER NOT NULL,
            name TEXT NOT NULL, status TEXT NOT NULL, data TEXT, detail TEXT, updated_at TEXT NOT NULL,
            PRIMARY KEY (source_id, job, phase, idx));
        """);

    /// <summary>A failover table from before plan approval gains its columns; its plans read as not approved (issue 19, item 2).</summary>
    private void AddApprovalColumns()
    {
        var columns = Query("SELECT name FROM pragma_table_info('failover')", r => r.GetString(0));
        if (!columns.Contains("approved_digest"))
            Exec("ALTER TABLE failover ADD COLUMN approved_digest TEXT; ALTER TABLE failover ADD COLUMN approved_spec TEXT; ALTER TABLE failover ADD COLUMN approved_at TEXT");
    }

    public void ApproveFailover(string sourceId, string job, StoredApproval approval) =>
        ExecDurable("UPDATE failover SET approved_digest = $d, approved_spec = $spec, approved_at = $at WHERE source_id = $s AND job = $j",
            ("$s", sourceId), ("$j", job), ("$d", approval.Digest), ("$spec", approval.SpecJson), ("$at", approval.At));

    public void SaveFailoverSpec(string sourceId, string job, string specJson, string initialState) =>
        ExecDurable("""
            INSERT INTO failover (source_id, job, spec, state, updated_at) VALUES ($s, $j, $spec, $st, $at)
            ON CONFLICT(source_id, job) DO UPDATE SET spec = $spec, updated_at = $at
            """, ("$s", sourceId), ("$j", job), ("$spec", specJson), ("$st", initialState), ("$at", Now()));

    public void SaveFailoverState(string sourceId, string job, string state, string? reason, bool dismissed) =>
        ExecDurable("UPDATE failover SET state = $st, reason = $r, dismissed = $d, updated_at = $at WHERE source_id = $s AND job = $j",
            ("$s", sourceId), ("$j", job), ("$st", state), ("$r", reason), ("$d", dismissed ? 1 : 0), ("$at", Now()));

    public void SaveFailoverInFlight(string sourceId, string job, string? json) =>
        Exec("UPDATE failover SET in_flight = $f WHERE source_id = $s AND job = $j", ("$s", sourceId), ("$j", job), ("$f", json));

    public void RemoveFailover(string sourceId, string job)
    {
        ExecDurable("DELETE FROM failover WHERE source_id = $s AND job = $j", ("$s", sourceId), ("$j", job));
        ExecDurable("DELETE FROM failover_steps WHERE source_id = $s AND job = $j", ("$s", sourceId), ("$j", job));
    }

    public IReadOnlyList<StoredFailover> ListFailover() =>
        Query("SELECT source_id, job, spec, state, reason, dismissed, in_flight, updated_at, approved_digest, approved_spec, approved_at FROM failover ORDER BY job",
            r => new StoredFailover(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4),
                r.GetInt64(5) != 0, r.IsDBNull(6) ? null : r.GetString(6), r.GetString(7),
                r.IsDBNull(8) ? null : new StoredApproval(r.GetString(8), r.GetString(9), r.GetString(10))));

    public IReadOnlyList<StoredStep> ListSteps(string sourceId, string job, string phase) =>
        Query("SELECT idx, name, status, data, detail FROM failover_steps WHERE source_id = $s AND job = $j AND phase = $p ORDER BY idx",
            r => new StoredStep((int)r.GetInt64(0), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4)),
            ("$s", sourceId), ("$j", job), ("$p", phase));

    public void SaveStep(string sourceId, string job, string phase, StoredStep step) =>
        ExecDurable("""
            INSERT INTO failover_steps (source_id, job, phase, idx, name, status, data, detail, updated_at) VALUES ($s, $j, $p, $i, $n, $st, $d, $dt, $at)
            ON CONFLICT(source_id, job, phase, idx) DO UPDATE SET name = $n, status = $st, data = $d, detail = $dt, updated_at = $at
            """, ("$s", sourceId), ("$j", job), ("$p", phase), ("$i", step.Index), ("$n", step.Name), ("$st", step.Status), ("$d", step.Data),
            ("$dt", step.Detail), ("$at", Now()));

    /// <summary>
    /// Several steps' journal rows in one durable commit (one fsync instead of one each): a step's end and the next
    /// step's start, written together before the next step runs (issue 21).
    /// </summary>
    public void SaveSteps(string sourceId, string job, string phase, IReadOnlyList<StoredStep> steps)
    {
        if (steps.Count == 1)
        {
            SaveStep(sourceId, job, phase, steps[0]);
            return;
        }
        var args = new List<(string, object?)> { ("$s", sourceId), ("$j", job), ("$p", phase), ("$at", Now()) };
        var rows = new List<string>();
        for (int k = 0; k < steps.Count; k++)
        {
            var step = steps[k];
            rows.Add($"($s, $j, $p, $i{k}, $n{k}, $st{k}, $d{k}, $dt{k}, $at)");
            args.AddRange([($"$i{k}", step.Index), ($"$n{k}", step.Name), ($"$st{k}", step.Status), ($"$d{k}", step.Data), ($"$dt{k}", step.Detail)]);
        }
        ExecDurable($"""
            INSERT INTO failover_steps (source_id, job, phase, idx, name, status, data, detail, updated_at) VALUES {string.Join(", ", rows)}
            ON CONFLICT(source_id, job, phase, idx) DO UPDATE SET name = excluded.name, status = excluded.status, data = excluded.data,
                detail = excluded.detail, updated_at = excluded.updated_at
            """, [.. args]);
    }

    public void ClearSteps(string sourceId, string job, string phase) =>
        ExecDurable("DELETE FROM failover_steps WHERE source_id = $s AND job = $j AND phase = $p", ("$s", sourceId), ("$j", job), ("$p", phase));
}
