using Microsoft.Data.Sqlite;
using Understudy.Agent.State;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Security;

/// <summary>The upgrade default of issue 19's trust policy: an entry from before roots existed gets the target paths its
/// jobs already use (what replicated before still does, nothing else may be written) and the narrow privileges.</summary>
public sealed class TrustMigrationTests
{
    [Fact]
    public void TrustEntriesOfAnOlderAgent_GetTheirJobsTargetPathsAsRoots_AndNoPrivileges()
    {
        using var dir = new TempDir();
        using (var db = new SqliteConnection($"Data Source={dir.Sub(StateStore.FileName)};Pooling=false"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = """
                CREATE TABLE trust (id TEXT PRIMARY KEY, name TEXT NOT NULL, added_at TEXT NOT NULL);
                CREATE TABLE hosted (source_id TEXT NOT NULL, job TEXT NOT NULL, target_path TEXT NOT NULL,
                    source_name TEXT NOT NULL, registered_at TEXT NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0, runtime TEXT,
                    PRIMARY KEY (source_id, job));
                INSERT INTO trust VALUES ('aaaaaaaaaaaaaaaa', 'web', 'then'), ('bbbbbbbbbbbbbbbb', 'idle', 'then');
                INSERT INTO hosted (source_id, job, target_path, source_name, registered_at) VALUES
                    ('aaaaaaaaaaaaaaaa', 'www', '/srv/replica/www', 'web', 'then'),
                    ('aaaaaaaaaaaaaaaa', 'db', '/srv/replica/db', 'web', 'then');
                """;
            cmd.ExecuteNonQuery();
        }
        using (var store = new StateStore(dir.Path))
        {
            Assert.Equal(2, store.TrustPolicyMigrated.Count);
            var web = store.GetTrust("aaaaaaaaaaaaaaaa")!;
            Assert.Equal(["/srv/replica/db", "/srv/replica/www"], web.Roots);
            Assert.False(web.AllowSetuid || web.AllowSecurityXattrs);
            Assert.Empty(store.GetTrust("bbbbbbbbbbbbbbbb")!.Roots);
        }
        using (var again = new StateStore(dir.Path))
            Assert.Empty(again.TrustPolicyMigrated); // once
    }
}
