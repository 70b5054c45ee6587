using System.Globalization;
using Understudy.Agent.Events;
using Understudy.LabTests.Failover;
using Understudy.Testing.Lab;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.LabTests.Chaos;

/// <summary>A chaos run: only when asked (<c>UNDERSTUDY_CHAOS_RUNS</c>, as bench/chaos.sh sets it), and like a lab test otherwise.</summary>
internal sealed class ChaosFactAttribute : FactAttribute
{
    public override string Skip
    {
        get => base.Skip
            ?? (Environment.GetEnvironmentVariable("UNDERSTUDY_CHAOS_RUNS") is null ? "chaos runs only when asked: bench/chaos.sh (UNDERSTUDY_CHAOS_RUNS)" : null)
            ?? LabRequirements.Missing(LabNeeds.Samba | LabNeeds.Agents | LabNeeds.Etcd)!;
        set => base.Skip = value;
    }
}

/// <summary>
/// Issue 20, the chaos runner (bench/chaos.sh; docs/performance.md, "Chaos"). Each run builds a fresh
/// <see cref="ChaosRig"/>, starts <see cref="ChaosClient"/> writing through the share, samples the service address
/// every 20 ms, and applies seeded random episodes (<see cref="ChaosSchedule"/>) for <c>UNDERSTUDY_CHAOS_DURATION</c>
/// seconds; then it settles (failed over: restore and fail-back) and runs the three checkers of <see cref="ChaosChecks"/>.
/// Run i has seed <c>UNDERSTUDY_CHAOS_SEED</c> + i. Each run's line (PASS/FAIL, the seed, what was violated) goes to the
/// test output and to <c>UNDERSTUDY_CHAOS_LOG</c> as it ends; a failed run's timeline and agent events to
/// <c>UNDERSTUDY_CHAOS_OUT</c>/seed-S/.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class ChaosTests(ITestOutputHelper output)
{
    private static int Env(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : fallback;

    [ChaosFact]
    public async Task Chaos_SeededFaultSchedules_NoSplitBrain_NoAcknowledgedWriteLost_NoSilentLoop()
    {
        int runs = Env("UNDERSTUDY_CHAOS_RUNS", 1), first = Env("UNDERSTUDY_CHAOS_SEED", 20_000), seconds = Env("UNDERSTUDY_CHAOS_DURATION", 60);
        var results = new List<ChaosRunResult>();
        for (var i = 0; i < runs; i++)
        {
            var seed = first + i;
            ChaosRunResult r;
            try
            {
                r = await RunOnceAsync(seed, TimeSpan.FromSeconds(seconds));
            }
            catch (Exception e) when (e is LabException or TimeoutException or InvalidOperationException or IOException)
            {
                r = new ChaosRunResult(seed, 0, 0, 0, 0, 0, 0, 0, 0, 0, "none", [$"(run) the run broke off: {e.Message}"], []);
            }
            results.Add(r);
            Say(r.ToString());
            Append("UNDERSTUDY_CHAOS_RESULTS", string.Join('\t', r.Seed, r.Pass ? "PASS" : "FAIL", r.Seconds.ToString("0", CultureInfo.InvariantCulture), r.Episodes,
                r.Failovers, r.Failbacks, r.Acked, r.Parked, r.NotAcked, r.Samples, r.BootOverlaps, r.End, string.Join(" | ", r.Violations), string.Join(" | ", r.Notes)));
        }
        var failed = results.Where(r => !r.Pass).ToList();
        Say(string.Create(CultureInfo.InvariantCulture, $"chaos: {results.Count} runs of {seconds} s from seed {first}: {results.Count - failed.Count} passed, {failed.Count} failed")
            + (failed.Count > 0 ? $" (seeds {string.Join(", ", failed.Select(r => r.Seed))}; rerun one: SEED=S RUNS=1 bench/chaos.sh)" : "")
            + string.Create(CultureInfo.InvariantCulture, $"; {results.Sum(r => r.Episodes)} episodes, {results.Sum(r => r.Failovers)} fail-overs, {results.Sum(r => r.Failbacks)} fail-backs, ")
            + string.Create(CultureInfo.InvariantCulture, $"{results.Sum(r => r.Acked)} acknowledged writes, {results.Sum(r => r.Samples)} address samples"));
        Assert.True(failed.Count == 0, string.Join("\n", failed));
    }

    private async Task<ChaosRunResult> RunOnceAsync(int seed, TimeSpan length)
    {
        await using var rig = await ChaosRig.StartAsync();
        var schedule = new ChaosSchedule(seed);
        var began = DateTime.UtcNow;
        var episodes = 0;
        string? end;
        var watch = rig.F.Lab.WatchAddress(rig.F.Vip, TimeSpan.FromMilliseconds(20));
        await using (watch)
        {
            await using (var client = new ChaosClient(rig.F, seed))
            {
                while (DateTime.UtcNow - began < length)
                {
                    var e = schedule.Next(await rig.TargetStateAsync() == "failed-over");
                    await rig.RunAsync(e);
                    episodes++;
                    await Task.Delay(e.Gap); // the schedule's own clock
                }
                await client.StopAsync();
                end = await ChaosChecks.SettleAsync(rig);
                await watch.StopAsync();
                var boot = ChaosChecks.AddressNeverOnTwoLiveHosts(rig, watch);
                var parked = ChaosChecks.NoAcknowledgedWriteLost(rig, client.Writes, end);
                await ChaosChecks.EveryLoopAliveOrJobInErrorAsync(rig);
                var failovers = (await FailoverProbe.EventsAsync(rig.F.Target, FailoverLab.Job)).Count(ev => ev.Code == EventCode.FailoverCompleted);
                var result = new ChaosRunResult(seed, (DateTime.UtcNow - began).TotalSeconds, episodes, failovers, rig.Failbacks,
                    client.Writes.Count(w => w.Acked), client.Writes.Count(w => !w.Acked), parked, watch.Samples, boot, end ?? "unsettled", rig.Violations, rig.Notes);
                if (!result.Pass || Environment.GetEnvironmentVariable("UNDERSTUDY_CHAOS_KEEP") == "1")
                    await KeepAsync(rig, client, result);
                return result;
            }
        }
    }

    /// <summary>A run's timeline, client ledger and both agents' events, for reading a failure after the lab is gone.</summary>
    private static async Task KeepAsync(ChaosRig rig, ChaosClient client, ChaosRunResult r)
    {
        var root = Environment.GetEnvironmentVariable("UNDERSTUDY_CHAOS_OUT");
        if (string.IsNullOrEmpty(root))
            return;
        var dir = Path.Combine(root, $"seed-{r.Seed}");
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "result.txt"), r + "\nnotes:\n" + string.Join("\n", r.Notes) + "\n");
        await File.WriteAllLinesAsync(Path.Combine(dir, "timeline.txt"), rig.Timeline);
        await File.WriteAllLinesAsync(Path.Combine(dir, "writes.tsv"), client.Writes.Select(w =>
            string.Create(CultureInfo.InvariantCulture, $"{w.Number}\t{w.At:HH:mm:ss.fff}\t{(w.Acked ? "acked" : "no")}\t{w.Error.ReplaceLineEndings(" ")}")));
        foreach (var a in new[] { rig.F.Source, rig.F.Target })
        {
            var ev = await a.CliAsync(["events", "--limit", "5000"]);
            await File.WriteAllTextAsync(Path.Combine(dir, $"{a.Name}-events.txt"), ev.Stdout + ev.Stderr);
            await File.WriteAllTextAsync(Path.Combine(dir, $"{a.Name}-log.txt"), a.Log);
        }
    }

    private void Say(string line)
    {
        output.WriteLine(line);
        Append("UNDERSTUDY_CHAOS_LOG", line);
    }

    private static void Append(string variable, string line)
    {
        if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } file)
            File.AppendAllText(file, line + "\n");
    }
}
