namespace Understudy.Agent.State;

internal sealed partial class StateStore
{
    /// <summary>An event log written before events had codes gains the column; its events read as code 0 (Unknown).</summary>
    private void AddEventCodeColumn()
    {
        bool has = Query("SELECT name FROM pragma_table_info('events')", r => r.GetString(0)).Contains("code");
        if (!has)
            Exec("ALTER TABLE events ADD COLUMN code INTEGER NOT NULL DEFAULT 0");
    }

    public long AddEvent(string time, string severity, string category, string? job, string message, string? data, int code)
    {
        lock (_lock)
        {
            using var cmd = Command(
                "INSERT INTO events (time, severity, category, job, message, data, code) VALUES ($t, $s, $c, $j, $m, $d, $code); SELECT last_insert_rowid();",
                [("$t", time), ("$s", severity), ("$c", category), ("$j", job), ("$m", message), ("$d", data), ("$code", code)]);
            return (long)cmd.ExecuteScalar()!;
        }
    }

    /// <summary>Stores events in one transaction, all or none (the event log's held events after an outage); returns their ids in order.</summary>
    public long[] AddEvents(IReadOnlyList<Events.AgentEvent> events)
    {
        lock (_lock)
        {
            using var tx = _db.BeginTransaction();
            var ids = new long[events.Count];
            for (int i = 0; i < events.Count; i++)
            {
                var e = events[i];
                using var cmd = Command(
                    "INSERT INTO events (time, severity, category, job, message, data, code) VALUES ($t, $s, $c, $j, $m, $d, $code); SELECT last_insert_rowid();",
                    [("$t", e.Time), ("$s", e.Severity), ("$c", e.Category), ("$j", e.Job), ("$m", e.Message), ("$d", e.Data), ("$code", (int)e.Code)]);
                cmd.Transaction = tx;
                ids[i] = (long)cmd.ExecuteScalar()!;
            }
            tx.Commit();
            return ids;
        }
    }

    /// <summary>Events stored (GET /metrics: the event log's size).</summary>
    public long CountEvents() => Query("SELECT COUNT(*) FROM events", r => r.GetInt64(0)).Single();

    /// <summary>Bytes of the database file and its write-ahead log (GET /metrics).</summary>
    public long DatabaseBytes()
    {
        var path = _db.DataSource;
        return new[] { path, path + "-wal" }.Sum(f => new FileInfo(f) is { Exists: true } i ? i.Length : 0);
    }

    public IReadOnlyList<Events.AgentEvent> ListEvents(string? job, long afterId, int limit) =>
        Query("""
            SELECT id, time, severity, category, job, message, data, code FROM events
            WHERE id > $after AND ($job IS NULL OR job = $job) ORDER BY id DESC LIMIT $limit
            """,
            r => new Events.AgentEvent(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3),
                r.IsDBNull(4) ? null : r.GetString(4), r.GetString(5), r.IsDBNull(6) ? null : r.GetString(6), (Events.EventCode)r.GetInt32(7)),
            ("$after", afterId), ("$job", job), ("$limit", limit));

    /// <summary>Deletes events older than <paramref name="before"/> (the store's time format, which sorts as text) and
    /// all but the newest <paramref name="keep"/>; returns how many went.</summary>
    public int TrimEvents(string before, int keep)
    {
        lock (_lock)
        {
            using var cmd = Command("""
                DELETE FROM events WHERE time < $before;
                DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET $keep);
                """, [("$before", before), ("$keep", keep)]);
            return cmd.ExecuteNonQuery();
        }
    }
}
