using System.Globalization;
using System.Text.Json.Nodes;
using Understudy.LabTests.Failover;
using Understudy.Testing;
using Understudy.Testing.Lab;

namespace Understudy.LabTests.Chaos;

/// <summary>What one chaos run did and found; it passes when <see cref="Violations"/> is empty.</summary>
internal sealed record ChaosRunResult(int Seed, double Seconds, int Episodes, int Failovers, int Failbacks, int Acked, int NotAcked, int Parked,
    int Samples, int BootOverlaps, string End, IReadOnlyList<string> Violations, IReadOnlyList<string> Notes)
{
    public bool Pass => Violations.Count == 0;

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"seed {Seed}: {(Pass ? "PASS" : "FAIL")} {Seconds:0}s, {Episodes} episodes, {Failovers} fail-overs, {Failbacks} fail-backs, ")
        + string.Create(CultureInfo.InvariantCulture, $"{Acked} writes acknowledged ({Parked} parked), {NotAcked} not, {Samples} address samples ({BootOverlaps} in boot windows), ends {End}")
        + (Pass ? "" : "\n  " + string.Join("\n  ", Violations));
}

/// <summary>
/// The chaos runner's settling and its three checkers: (1) the service address never on two live hosts at once (a host
/// whose link is cut is not live; a returning host's boot window, up to ChaosRig.DemoteBudget after its agent's start, is counted apart); (2) every acknowledged write on the
/// host that holds the identity at the end, with its content, or parked as a conflict or kept (.understudy-restore) by the restore; (3) every
/// supervised loop of both agents alive, or its job in <c>error</c> with a reason (GET /api/v1/health, then status).
/// </summary>
internal static class ChaosChecks
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(90);

    /// <summary>Until exactly one host holds the address and the target agrees; failed over, it is brought home (restore, fail-back). The end state, or null.</summary>
    public static async Task<string?> SettleAsync(ChaosRig rig)
    {
        await rig.EnsureAgentsAliveAsync("at the end");
        var end = await SettledAsync(rig);
        if (end is "failed-over" or "restoring")
        {
            await rig.FailbackAsync();
            end = await SettledAsync(rig);
        }
        rig.Log($"settled: {end ?? "no"}");
        return end;
    }

    private static async Task<string?> SettledAsync(ChaosRig rig)
    {
        var f = rig.F;
        try
        {
            var s = await FailoverProbe.WaitAsync(f.Target, FailoverLab.Job, s =>
                (s.State == "protecting" && f.Holders(f.Vip) is ["src"]) || (s.State is "failed-over" or "restoring" && f.Holders(f.Vip) is ["tgt"]),
                "one holder of the service address, and the target agreeing", Settle);
            return s.State;
        }
        catch (TimeoutException ex)
        {
            rig.Violations.Add($"(1) did not settle within {Settle.TotalSeconds} s: holders [{string.Join(",", f.Holders(f.Vip))}]; {ex.Message}");
            return null;
        }
    }

    /// <summary>Checker (1); returns the overlaps inside boot windows (reported, not violations).</summary>
    public static int AddressNeverOnTwoLiveHosts(ChaosRig rig, AddressWatch watch)
    {
        try
        {
            watch.EnsureNeverHeldByBoth(ignoreCutHosts: true);
            return 0;
        }
        catch (LabException ex) when (ex.Message.StartsWith($"the watch of", StringComparison.Ordinal))
        {
            rig.Violations.Add("(1) " + ex.Message);
            return 0;
        }
        catch (LabException)
        {
            var live = watch.Overlaps.Where(o => o.Holders.Except(o.CutHolders).Count() > 1).ToList();
            var boot = live.Where(o => rig.BootWindows.Any(w => o.At >= w.From && o.At <= w.To)).ToList();
            var bad = live.Except(boot).ToList();
            if (bad.Count > 0)
                rig.Violations.Add(string.Create(CultureInfo.InvariantCulture,
                    $"(1) {watch.Address} on two live hosts in {bad.Count} of {watch.Samples} samples, from {bad[0].At:HH:mm:ss.fff} to {bad[^1].At:HH:mm:ss.fff} ")
                    + $"(first by {string.Join(" and ", bad[0].Holders)}); holders over time: "
                    + string.Join("; ", watch.Changes.Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.At:HH:mm:ss.fff} [{string.Join(",", c.Holders)}]"))));
            return boot.Count;
        }
    }

    /// <summary>Checker (2): the acknowledged writes against the tree of the host holding the identity (and the parked or kept copies); the number parked or kept.</summary>
    public static int NoAcknowledgedWriteLost(ChaosRig rig, IReadOnlyList<ChaosWrite> writes, string? end)
    {
        var f = rig.F;
        var holder = end switch
        {
            "protecting" => f.SourceData,
            "failed-over" or "restoring" => f.Replica,
            _ => f.Holders(f.Vip) is ["tgt"] ? f.Replica : f.SourceData,
        };
        var lost = new List<string>();
        var parked = 0;
        foreach (var w in writes.Where(w => w.Acked))
        {
            if (Same(Path.Combine(holder, w.Path), w.Content))
                continue;
            var name = Path.GetFileName(w.Path);
            var copies = new[] { f.SourceData, f.Replica }.Select(root => Path.Combine(root, ChaosClient.Dir)).Where(Directory.Exists)
                .SelectMany(d => Directory.GetFiles(d, name + ".understudy-conflict-*"));
            // What a restore replaced or removed on the source that is not a conflict is kept under
            // .understudy-restore/SOURCE-TIME/PATH (restore.replaced: keep, RestoreKeeper): e.g. a write the source's smbd
            // acknowledged while its agent was down, never replicated before the fail-over, which the restore removes.
            var keep = Path.Combine(f.SourceData, ".understudy-restore");
            var kept = Directory.Exists(keep) ? Directory.GetDirectories(keep).Select(d => Path.Combine(d, w.Path)) : [];
            if (copies.Concat(kept).Any(c => Same(c, w.Content)))
            {
                parked++;
                continue;
            }
            var elsewhere = new[] { ("src", f.SourceData), ("tgt", f.Replica) }.Where(r => Same(Path.Combine(r.Item2, w.Path), w.Content)).Select(r => r.Item1);
            lost.Add(string.Create(CultureInfo.InvariantCulture, $"{w.Number} (acked at {w.At:HH:mm:ss.fff}; intact on [{string.Join(",", elsewhere)}])"));
        }
        if (lost.Count > 0)
            rig.Violations.Add($"(2) {lost.Count} acknowledged writes not on the holder ({(holder == f.SourceData ? "src" : "tgt")}) nor parked: {string.Join(", ", lost.Take(20))}");
        return parked;
    }

    private static bool Same(string path, byte[] content) => File.Exists(path) && File.ReadAllBytes(path).AsSpan().SequenceEqual(content);

    /// <summary>Checker (3), on both agents: health ok, or each loop it names down belongs to a job in <c>error</c> with a reason (waits out the loops' back-off).</summary>
    public static async Task EveryLoopAliveOrJobInErrorAsync(ChaosRig rig)
    {
        foreach (var agent in new[] { rig.F.Source, rig.F.Target })
        {
            var last = "";
            var ok = false;
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(75);
            while (!ok && DateTime.UtcNow < until)
            {
                (ok, last) = await HealthyOrExplainedAsync(rig.F.Lab, agent);
                if (!ok)
                    await Task.Delay(1000); // pacing: a failed loop runs again after its back-off (1 s doubling to 30 s)
            }
            if (!ok)
                rig.Violations.Add($"(3) agent {agent.Name}: {last}");
        }
    }

    private static async Task<(bool Ok, string Why)> HealthyOrExplainedAsync(Lab lab, LabAgent agent)
    {
        var r = await lab.ExecAsync(agent.Host, ["curl", "-s", "-m", "10", $"http://127.0.0.1:{LabAgent.ApiPort}/api/v1/health"]);
        if (r.ExitCode != 0 || r.Stdout.Length == 0)
            return (false, $"GET /api/v1/health: curl exit {r.ExitCode} {r.Stderr.Trim()}");
        var health = JsonNode.Parse(r.Stdout)!;
        if (health["ok"]?.GetValue<bool>() == true)
            return (true, "");
        foreach (var down in health["down"]?.AsArray() ?? [])
        {
            var job = down?["job"]?.GetValue<string>();
            if (job is null)
                return (false, $"health {r.Stdout.Trim()}: a loop of no job is down");
            var s = await agent.CliAsync(["status", job, "--json"]);
            var status = s.ExitCode == 0 ? JsonNode.Parse(s.Stdout) : null;
            if (status?["state"]?.GetValue<string>() != "error" || string.IsNullOrWhiteSpace(status["reason"]?.GetValue<string>()))
                return (false, $"health {r.Stdout.Trim()}, and job {job} is {status?["state"]} ({status?["reason"]}), not in error with a reason");
        }
        return (true, "");
    }
}
