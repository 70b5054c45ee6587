namespace Understudy.Agent.State;

internal sealed partial class StateStore
{
    public long AddEvent(string time, string severity, string category, string? job, string message, string? data)
    {
        lock (_lock)
        {
            using var cmd = Command(
                "INSERT INTO events (time, severity, category, job, message, data) VALUES ($t, $s, $c, $j, $m, $d); SELECT last_insert_rowid();",
                [("$t", time), ("$s", severity), ("$c", category), ("$j", job), ("$m", message), ("$d", data)]);
            return (long)cmd.ExecuteScalar()!;
        }
    }

    public IReadOnlyList<Events.AgentEvent> ListEvents(string? job, long afterId, int limit) =>
        Query("""
            SELECT id, time, severity, category, job, message, data FROM events
            WHERE id > $after AND ($job IS NULL OR job = $job) ORDER BY id DESC LIMIT $limit
            """,
            r => new Events.AgentEvent(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3),
                r.IsDBNull(4) ? null : r.GetString(4), r.GetString(5), r.IsDBNull(6) ? null : r.GetString(6)),
            ("$after", afterId), ("$job", job), ("$limit", limit));
}
