using System.Globalization;
using Understudy.Agent.Events;
using Understudy.Testing.Lab;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.LabTests.Failover;

/// <summary>
/// Issue 22, test (d): seeded random partition schedules (<see cref="PartitionSchedule"/>) against a job with an etcd
/// witness. While each runs, and until the lab has settled after it is healed, the service address is sampled every
/// 20 ms: it must never be on two hosts the client can reach (a host whose link is down counts as unreachable; a
/// host cut from the other agent or from etcd is still reachable from the client).
/// CI runs <see cref="DefaultSchedules"/> schedules; <c>UNDERSTUDY_WITNESS_SCHEDULES</c> sets how many (bench/witness.sh
/// --partitions runs 50) and <c>UNDERSTUDY_WITNESS_SEED</c> the first seed (schedule i uses seed + i): a failure
/// names its seed, and <c>UNDERSTUDY_WITNESS_SEED=S UNDERSTUDY_WITNESS_SCHEDULES=1</c> runs that schedule again.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class WitnessPartitionTests(ITestOutputHelper output)
{
    public const int DefaultSchedules = 4;
    public const int DefaultSeed = 22_000;

    /// <summary>How long a schedule changes things; then everything heals and the lab settles.</summary>
    private static readonly TimeSpan Length = TimeSpan.FromSeconds(8);

    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(60);

    private static int Env(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : fallback;

    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents | LabNeeds.Etcd)]
    public async Task Witness_RandomPartitionSchedules_AddressNeverOnTwoReachableHosts()
    {
        int count = Env("UNDERSTUDY_WITNESS_SCHEDULES", DefaultSchedules), first = Env("UNDERSTUDY_WITNESS_SEED", DefaultSeed);
        FailoverLab? f = null;
        EtcdWitness? etcd = null;
        int failedOver = 0, samples = 0;
        try
        {
            for (int i = 0; i < count; i++)
            {
                int seed = first + i;
                // A lab that failed over stays so until fail-back: the next schedule starts from a fresh one.
                if (f is null)
                    (f, etcd) = await StartAsync();
                var schedule = new PartitionSchedule(f, etcd!, seed, Length);
                output.WriteLine($"schedule {i + 1} of {count}, seed {seed}: {string.Join(", ", schedule.Steps)}");
                var watch = f.Lab.WatchAddress(f.Vip, TimeSpan.FromMilliseconds(20));
                string end;
                try
                {
                    await schedule.RunAsync(output.WriteLine);
                    await schedule.HealAsync();
                    end = await SettleAsync(f);
                    await watch.StopAsync();
                    samples += watch.Samples;
                    watch.EnsureNeverHeldByBoth(ignoreCutHosts: true);
                }
                catch (Exception e)
                {
                    throw new LabException($"seed {seed} (rerun: UNDERSTUDY_WITNESS_SEED={seed} UNDERSTUDY_WITNESS_SCHEDULES=1): {e.Message}"
                        + $"\nholders over time: {string.Join("; ", watch.Changes.Select(c => $"{c.At:HH:mm:ss.fff} [{string.Join(",", c.Holders)}]"))}");
                }
                finally
                {
                    await watch.DisposeAsync();
                }
                output.WriteLine($"  settled: {end}; holders over time: {string.Join(" → ", watch.Changes.Select(c => $"[{string.Join(",", c.Holders)}]"))}");
                if (end == "failed-over")
                {
                    failedOver++;
                    await f.DisposeAsync();
                    f = null;
                }
            }
        }
        finally
        {
            if (f is not null)
                await f.DisposeAsync();
        }
        output.WriteLine($"{count} schedules from seed {first}: {failedOver} ended failed over, {samples} samples, never on two reachable hosts");
    }

    private static async Task<(FailoverLab, EtcdWitness)> StartAsync()
    {
        var f = await FailoverLab.CreateAsync();
        try
        {
            var etcd = await EtcdWitness.StartAsync(f.Lab);
            await f.ApplyAndProtectAsync(f.FailoverYaml() + etcd.Yaml);
            await FailoverProbe.WaitEventAsync(f.Source, FailoverLab.Job, EventCode.WitnessAcquired, Settle);
            return (f, etcd);
        }
        catch
        {
            await f.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// After the heal, until exactly one host holds the address and the target's state agrees: failed over with the
    /// address on the target, or protecting with it back on the source (which then holds its witness key again).
    /// </summary>
    private static async Task<string> SettleAsync(FailoverLab f)
    {
        var s = await FailoverProbe.WaitAsync(f.Target, FailoverLab.Job, s =>
            (s.State == "failed-over" && f.Holders(f.Vip) is ["tgt"]) || (s.State == "protecting" && f.Holders(f.Vip) is ["src"]),
            "the lab to settle: failed over with the address on the target, or protecting with it on the source", Settle);
        return s.State;
    }
}
