using System.Globalization;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.Agent.Tests.WriteOrder;

/// <summary>
/// Issue 17's PostgreSQL crash test: a PostgreSQL 15 cluster in the protected subvolume under pgbench load in a
/// write-order job; at a random moment the source server dies (kill -9 of the source agent, the postmaster, every
/// backend and pgbench together), the target fails over, and PostgreSQL is started on the replica: crash recovery must
/// succeed, pgbench's balances must agree (accounts = branches = tellers = history), pg_amcheck must find nothing, and
/// the newest transaction in the replica must have begun at most 1 s before the kill — which, the replica being one
/// snapshot, bounds what it lacks: every commit acknowledged 1 s or more before the kill is in it.
/// </summary>
public sealed class PostgresCrashTests(ITestOutputHelper output)
{
    [DatabaseTheory(PgCluster.Bin + "/postgres")]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task Postgres_SourceKilledUnderPgbench_ReplicaRecovers_BalancesAgree_AmcheckClean(int seed)
    {
        await using var rig = await DatabaseCrashRig.StartAsync();
        var source = PgCluster.InitDb(Path.Combine(rig.Vol, "pg"), rig.Scratch("sock-source"));
        var replica = PgCluster.Over(Path.Combine(rig.Replica, "pg"), rig.Scratch("sock-replica"));
        try
        {
            Assert.True(source.TryStart(), source.Log);
            var (code, init) = source.Client("pgbench", "-i", "-s", "1", "-q", "postgres");
            Assert.True(code == 0, init);
            await rig.ProtectAsync();

            using var load = source.StartLoad();
            await rig.WaitPointsAsync(2);
            await Task.Delay(new Random(seed * 17).Next(0, 3000));
            var pids = source.Processes().Append(load.Id).ToList();
            var killedAt = rig.KillSource(pids);
            load.WaitForExit();
            await DatabaseCrashRig.WaitGoneAsync(pids);
            output.WriteLine(await rig.FailoverAsync());

            bool started = replica.TryStart();
            output.WriteLine(replica.Log);
            Assert.True(started, "PostgreSQL must start on the replica (crash recovery)");
            var r = replica.Row("""
                SELECT (SELECT sum(abalance) FROM pgbench_accounts), (SELECT sum(bbalance) FROM pgbench_branches),
                       (SELECT sum(tbalance) FROM pgbench_tellers), (SELECT coalesce(sum(delta), 0) FROM pgbench_history),
                       (SELECT count(*) FROM pgbench_history), (SELECT extract(epoch FROM max(mtime)) FROM pgbench_history)
                """);
            output.WriteLine($"seed {seed}: accounts {r[0]}, branches {r[1]}, tellers {r[2]}, history {r[3]} in {r[4]} transactions");
            Assert.True(r[0] == r[1] && r[1] == r[2] && r[2] == r[3], "pgbench's balances must agree: " + string.Join(" | ", r));
            Assert.True(long.Parse(r[4], CultureInfo.InvariantCulture) > 0, "the replica must hold some of the load");
            var newest = DateTime.UnixEpoch.AddSeconds(double.Parse(r[5], CultureInfo.InvariantCulture));
            output.WriteLine($"the newest transaction in the replica began {DatabaseCrashRig.Seconds(killedAt - newest)} s before the kill");

            var (amcode, amcheck) = replica.Client("pg_amcheck", "--install-missing", "--heapallindexed", "-d", "postgres");
            output.WriteLine("pg_amcheck: exit " + amcode + " " + amcheck);
            Assert.True(amcode == 0, "pg_amcheck: " + amcheck);
            Assert.True(killedAt - newest <= TimeSpan.FromSeconds(1), $"the replica's newest transaction began {DatabaseCrashRig.Seconds(killedAt - newest)} s before the kill");
        }
        finally
        {
            replica.StopImmediate();
            source.StopImmediate();
        }
    }
}
