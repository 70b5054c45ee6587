using System.Globalization;
using System.Text;
using Understudy.Testing.Lab;

namespace Understudy.Bench.Failover;

/// <summary>The witness of <c>--witness</c>: its lease (whole seconds, as etcd counts) and renewal.</summary>
internal sealed record WitnessSettings(int LeaseSeconds, int RenewMs);

/// <summary>
/// Fail-over time with an etcd witness against without (issue 22): the same lab, job and monitor settings as the
/// Understudy side of the keepalived comparison (<see cref="OursRun"/>), once as it is and once with
/// <c>failover.witness</c> on a fourth lab host; runs interleaved, a fresh lab each. The source's link is cut, so it
/// also loses the witness: the target can take the key only once the source's lease has expired in etcd, which is
/// what the witness adds to the detection time.
/// </summary>
internal static class WitnessBench
{
    public static async Task<int> RunAsync(Settings s, WitnessSettings w)
    {
        var results = new List<RunResult>();
        for (var run = 1; run <= s.Runs; run++)
        {
            results.Add(await OneAsync("understudy", run, () => OursRun.RunAsync(run, s)));
            results.Add(await OneAsync("witness", run, () => OursRun.RunAsync(run, s, w)));
        }
        var report = Markdown(s, w, results);
        Console.WriteLine();
        Console.WriteLine(report);
        if (s.Results is { } tsv)
            await File.WriteAllLinesAsync(tsv, results.Select(Report.Tsv));
        if (s.WriteDoc is { } doc)
            Report.ReplaceSection(doc, "witness", report);
        return results.All(r => r.Ok) ? 0 : 1;
    }

    private static async Task<RunResult> OneAsync(string subject, int run, Func<Task<RunResult>> body)
    {
        Console.Write($"run {run,2} {subject,-10} ");
        RunResult r;
        try
        {
            r = await body();
        }
        catch (Exception e) when (e is LabException or TimeoutException or InvalidOperationException or IOException)
        {
            r = RunResult.Failed(subject, run, e.Message);
        }
        Console.WriteLine(r.Ok
            ? Inv($"decision {r.Decision:0.000} s, address on target {r.AddressOnTarget:0.000} s, first read {r.FirstRead:0.000} s")
            : "FAILED: " + r.Error);
        return r;
    }

    private static string Markdown(Settings s, WitnessSettings w, IReadOnlyList<RunResult> results)
    {
        var without = results.Where(r => r.Subject == "understudy").ToList();
        var with = results.Where(r => r.Subject == "witness").ToList();
        var sb = new StringBuilder();
        sb.AppendLine(Inv($"Measured {DateTime.UtcNow:yyyy-MM-dd} on {Environment.ProcessorCount} cores, shared with other builds (load average {string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3))} at the end); monitor interval {s.IntervalMs / 1000.0:0.###} s, misses {s.Misses} (ICMP on the source's address), automatic trigger, mode add; witness: one etcd member on its own lab host, lease {w.LeaseSeconds} s, renew {w.RenewMs / 1000.0:0.###} s; {s.Runs} run(s) each, interleaved, a fresh lab per run."));
        sb.AppendLine();
        sb.AppendLine(Inv($"Reproduce: `sudo bench/witness.sh --runs {s.Runs} --interval-ms {s.IntervalMs} --misses {s.Misses} --lease {w.LeaseSeconds} --renew-ms {w.RenewMs} --write-doc`"));
        sb.AppendLine();
        sb.AppendLine("All times in seconds from the cut of the source's link (it loses the target and the witness at once). Decision: the target's \"fail-over triggered\" event (with a witness: after it won the key).");
        sb.AppendLine();
        sb.AppendLine("| measure | without witness median | with witness median | difference | without worst | with worst |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        Row(sb, "decision", without, with, r => r.Decision);
        Row(sb, "address on the target", without, with, r => r.AddressOnTarget);
        Row(sb, "total (cut → first good read)", without, with, r => r.FirstRead);
        sb.AppendLine();
        foreach (var (name, list) in new[] { ("without witness", without), ("with witness", with) })
        {
            sb.AppendLine(Inv($"Runs {name} (decision / total): ") + string.Join("; ", list.Select(r => r.Ok ? Inv($"{r.Decision:0.00} / {r.FirstRead:0.00}") : "failed")) + ".");
            foreach (var f in list.Where(r => !r.Ok))
                sb.AppendLine(Inv($"- run {f.Run} {name} failed: {f.Error?.Split('\n')[0]}"));
        }
        return sb.ToString().TrimEnd();
    }

    private static void Row(StringBuilder sb, string what, List<RunResult> without, List<RunResult> with, Func<RunResult, double> f)
    {
        var a = without.Where(r => r.Ok).Select(f).Where(v => !double.IsNaN(v)).ToList();
        var b = with.Where(r => r.Ok).Select(f).Where(v => !double.IsNaN(v)).ToList();
        string M(List<double> l) => l.Count > 0 ? Inv($"{Report.Median(l):0.000}") : "–";
        string W(List<double> l) => l.Count > 0 ? Inv($"{l.Max():0.000}") : "–";
        var diff = a.Count > 0 && b.Count > 0 ? Inv($"{Report.Median(b) - Report.Median(a):+0.000;-0.000}") : "–";
        sb.AppendLine($"| {what} | {M(a)} | {M(b)} | {diff} | {W(a)} | {W(b)} |");
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
