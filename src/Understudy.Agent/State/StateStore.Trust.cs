using Microsoft.Data.Sqlite;
using Understudy.Core.Api;

namespace Understudy.Agent.State;

/// <summary>
/// The trust list and each entry's policy for the peer as a source: the roots its jobs may write under
/// (<c>trust_roots</c>) and the privileges its replicas may carry. An entry without roots lets the peer write
/// nowhere here (it may still connect, e.g. as this agent's target).
/// </summary>
internal sealed partial class StateStore
{
    /// <summary>
    /// A data dir from before trust entries had a policy gets one, once: each entry's roots become the target paths
    /// its jobs already use here, so what replicated before the upgrade still does and nothing else may be written;
    /// the privileges start narrow (no setuid/setgid, no security.*/trusted.* xattrs). Returns one line per entry, for
    /// the event the agent records at start.
    /// </summary>
    private List<string> MigrateTrustPolicy()
    {
        var done = new List<string>();
        bool has = Query("SELECT name FROM pragma_table_info('trust')", r => r.GetString(0)).Contains("allow_setuid");
        if (has)
            return done;
        Exec("""
            ALTER TABLE trust ADD COLUMN allow_setuid INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE trust ADD COLUMN allow_security_xattrs INTEGER NOT NULL DEFAULT 0;
            """);
        foreach (var (id, name) in Query("SELECT id, name FROM trust", r => (r.GetString(0), r.GetString(1))))
        {
            var paths = Query("SELECT DISTINCT target_path FROM hosted WHERE source_id = $id", r => r.GetString(0), ("$id", id));
            foreach (var p in paths)
                ExecDurable("INSERT OR IGNORE INTO trust_roots (id, root) VALUES ($id, $root)", ("$id", id), ("$root", p));
            done.Add(paths.Count == 0
                ? $"{name} ({id[..12]}): no roots (it had no jobs here; to let it write: understudy trust add {id} --root DIR)"
                : $"{name} ({id[..12]}): roots {string.Join(", ", paths)} (the target paths its jobs used)");
        }
        return done;
    }

    /// <summary>What the trust policy migration did when this store was opened (empty: nothing to migrate).</summary>
    public IReadOnlyList<string> TrustPolicyMigrated { get; private set; } = [];

    private void Exec(SqliteTransaction tx, string sql, params (string Name, object? Value)[] args)
    {
        using var cmd = Command(sql, args);
        cmd.Transaction = tx;
        cmd.ExecuteNonQuery();
    }

    /// <summary>Trusts <paramref name="id"/> or changes its entry: see <see cref="TrustRequest"/> for <paramref name="replace"/>.</summary>
    public void AddTrust(string id, string? name, IReadOnlyList<string> roots, bool allowSetuid, bool allowSecurityXattrs, bool replace)
    {
        lock (_lock)
        {
            // One durable transaction (see ExecDurable): an entry never has its new privileges without its new roots.
            using (var full = Command("PRAGMA synchronous=FULL", []))
                full.ExecuteNonQuery();
            using var tx = _db.BeginTransaction();
            Exec(tx, """
                INSERT INTO trust (id, name, added_at, allow_setuid, allow_security_xattrs) VALUES ($id, $name, $at, $su, $sx)
                ON CONFLICT(id) DO UPDATE SET name = coalesce($given, name),
                    allow_setuid = CASE WHEN $replace THEN $su ELSE max(allow_setuid, $su) END,
                    allow_security_xattrs = CASE WHEN $replace THEN $sx ELSE max(allow_security_xattrs, $sx) END
                """,
                ("$id", id), ("$name", name ?? id[..12]), ("$given", name), ("$at", Now()), ("$su", allowSetuid ? 1 : 0),
                ("$sx", allowSecurityXattrs ? 1 : 0), ("$replace", replace ? 1 : 0));
            if (replace)
                Exec(tx, "DELETE FROM trust_roots WHERE id = $id", ("$id", id));
            foreach (var root in roots)
                Exec(tx, "INSERT OR IGNORE INTO trust_roots (id, root) VALUES ($id, $root)", ("$id", id), ("$root", root));
            tx.Commit();
            using var normal = Command("PRAGMA synchronous=NORMAL", []);
            normal.ExecuteNonQuery();
        }
    }

    public bool RemoveTrust(string id)
    {
        bool existed = IsTrusted(id);
        ExecDurable("DELETE FROM trust WHERE id = $id; DELETE FROM trust_roots WHERE id = $id", ("$id", id));
        return existed;
    }

    public bool IsTrusted(string id) =>
        Query("SELECT 1 FROM trust WHERE id = $id", _ => true, ("$id", id)).Count > 0;

    public TrustedPeer? GetTrust(string id) => ListTrust().FirstOrDefault(t => t.Id == id);

    public IReadOnlyList<TrustedPeer> ListTrust()
    {
        var roots = Query("SELECT id, root FROM trust_roots ORDER BY root", r => (Id: r.GetString(0), Root: r.GetString(1)));
        return Query("SELECT id, name, added_at, allow_setuid, allow_security_xattrs FROM trust ORDER BY name, id",
            r => new TrustedPeer(r.GetString(0), r.GetString(1), r.GetString(2), [],
                r.GetInt64(3) != 0, r.GetInt64(4) != 0))
            .Select(t => t with { Roots = [.. roots.Where(x => x.Id == t.Id).Select(x => x.Root)] })
            .ToList();
    }
}
