using Microsoft.Data.Sqlite;

namespace Understudy.Agent.State;

/// <summary>
/// The agent's durable state (SQLite, WAL, synchronous=NORMAL except for decisions: <see cref="ExecDurable"/>): trusted peers, jobs this agent is source of,
/// job registrations it hosts as a target, and the event log. One connection guarded by a
/// lock: writes are rare next to data traffic, and one writer keeps SQLite simple.
/// </summary>
internal sealed partial class StateStore : IDisposable
{
    public const string FileName = "state.db";

    private readonly SqliteConnection _db;
    private readonly Lock _lock = new();

    public StateStore(string dataDir)
    {
        var path = Path.Combine(dataDir, FileName);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString());
        try
        {
            OpenSchema();
        }
        catch (SqliteException e)
        {
            // Not guessed around: starting empty would forget trust, jobs and a fail-over (the target would serve as if
            // it never took over). The agent does not start; the file stays for the operator (docs/cli.md, exit codes).
            _db.Dispose();
            throw new IOException($"the state database {path} is damaged or unreadable ({e.Message}): restore it from a backup, "
                + "or move it aside to start without its trust entries, jobs and fail-over state", e);
        }
    }

    private void OpenSchema()
    {
        _db.Open();
        Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;");
        // hosted.runtime is never written or read; it stays in the schema so a data dir has the same tables whatever version made it.
        Exec("""
            CREATE TABLE IF NOT EXISTS trust (id TEXT PRIMARY KEY, name TEXT NOT NULL, added_at TEXT NOT NULL,
                allow_setuid INTEGER NOT NULL DEFAULT 0, allow_security_xattrs INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE IF NOT EXISTS jobs (name TEXT PRIMARY KEY, yaml TEXT NOT NULL, applied_at TEXT NOT NULL, runtime TEXT);
            CREATE TABLE IF NOT EXISTS hosted (source_id TEXT NOT NULL, job TEXT NOT NULL, target_path TEXT NOT NULL,
                source_name TEXT NOT NULL, registered_at TEXT NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0, runtime TEXT,
                PRIMARY KEY (source_id, job));
            CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, severity TEXT NOT NULL,
                category TEXT NOT NULL, job TEXT, message TEXT NOT NULL, data TEXT, code INTEGER NOT NULL DEFAULT 0);
            CREATE INDEX IF NOT EXISTS events_job ON events(job, id);
            CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS trust_roots (id TEXT NOT NULL, root TEXT NOT NULL, PRIMARY KEY (id, root));
            """);
        TrustPolicyMigrated = MigrateTrustPolicy();
        AddEventCodeColumn();
        CreateFailoverTables();
        AddApprovalColumns();
    }

    private void Exec(string sql, params (string Name, object? Value)[] args)
    {
        lock (_lock)
        {
            using var cmd = Command(sql, args);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>
    /// A write that records a decision (fail-over state and step journal, trust, a job applied, the passive mark and
    /// the like in kv), committed with <c>synchronous=FULL</c>: in WAL mode NORMAL skips the WAL's fsync at commit, so a
    /// power loss can take the last commits back — harmless for an event or a replication sequence number (resent),
    /// not for "this target took over" or "this step was applied". Switched per statement because the frequent
    /// writes on the replication path (hosted.last_seq per batch, events) must not pay an fsync each.
    /// </summary>
    private void ExecDurable(string sql, params (string Name, object? Value)[] args)
    {
        lock (_lock)
        {
            using (var full = Command("PRAGMA synchronous=FULL", []))
                full.ExecuteNonQuery();
            try
            {
                using var cmd = Command(sql, args);
                cmd.ExecuteNonQuery();
            }
            finally
            {
                using var normal = Command("PRAGMA synchronous=NORMAL", []);
                normal.ExecuteNonQuery();
            }
        }
    }

    private SqliteCommand Command(string sql, (string Name, object? Value)[] args)
    {
        var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (n, v) in args)
            cmd.Parameters.AddWithValue(n, v ?? DBNull.Value);
        return cmd;
    }

    private List<T> Query<T>(string sql, Func<SqliteDataReader, T> map, params (string Name, object? Value)[] args)
    {
        lock (_lock)
        {
            using var cmd = Command(sql, args);
            using var r = cmd.ExecuteReader();
            var list = new List<T>();
            while (r.Read())
                list.Add(map(r));
            return list;
        }
    }

    private static string Now() => DateTimeOffset.UtcNow.ToString("O");

    public void Dispose() => _db.Dispose();
}
