using System.Globalization;
using System.Text;

namespace Understudy.Bench.Failover;

/// <summary>Medians, worsts, ratios and targets, as the Markdown section of docs/performance.md.</summary>
internal static class Report
{
    public static string Markdown(Settings s, IReadOnlyList<RunResult> results)
    {
        var ours = results.Where(r => r.Subject == "understudy").ToList();
        var ka = results.Where(r => r.Subject == "keepalived").ToList();
        var sb = new StringBuilder();
        var totalTarget = s.IntervalMs * s.Misses / 1000.0 + 1;
        sb.AppendLine(Inv($"Measured {DateTime.UtcNow:yyyy-MM-dd} on {Environment.ProcessorCount} cores ({CpuModel()}), shared with other builds (load average {LoadAverage()} at the end), the lab at nice {Nice()}; interval {s.IntervalMs / 1000.0:0.###} s, misses {s.Misses}, automatic trigger, gratuitous ARP {(s.ArpCount is { } n ? $"count {n}" : "defaults (5 × 200 ms)")}; keepalived advert_int {s.IntervalMs / 1000.0:0.###} s, priorities 254/253; {s.Runs} run(s) each, interleaved, a fresh lab per run."));
        sb.AppendLine();
        sb.AppendLine(Inv($"Reproduce: `sudo bench/failover-vs-keepalived.sh --runs {s.Runs}{(s.ArpCount is { } c ? $" --arp-count {c}" : "")} --write-doc`"));
        sb.AppendLine();
        sb.AppendLine("All times in seconds from the cut. Detection: cut → the target decides (Understudy: the \"fail-over triggered\" event; keepalived: the address appears on the backup, which it adds as it becomes master). Take-over: decision → the client's first good read through `smbclient //SERVICE/data`.");
        sb.AppendLine();
        sb.AppendLine("| measure | keepalived median | Understudy median | ratio (ours ÷ keepalived) | keepalived worst | Understudy worst | target | met (median / worst) |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |");
        Row(sb, "detection", ka, ours, r => r.Detection, null);
        Row(sb, "address on the target", ka, ours, r => r.AddressOnTarget, null);
        Row(sb, "take-over (decision → first good read)", ka, ours, r => r.Takeover, 1.0);
        Row(sb, "total (cut → first good read)", ka, ours, r => r.FirstRead, totalTarget);
        Row(sb, "one smbclient read before the cut (not from the cut)", ka, ours, r => r.BaselineRead, null);
        var agent = ours.Where(r => r.Ok && r.AgentTakeover is not null).Select(r => r.AgentTakeover!.Value).ToList();
        if (agent.Count > 0)
            sb.AppendLine(Inv($"| Understudy's own take-over steps (its \"failed over\" event) | | {Median(agent):0.000} | | | {agent.Max():0.000} | | |"));
        sb.AppendLine();
        foreach (var (name, list) in new[] { ("keepalived", ka), ("Understudy", ours) })
        {
            if (list.Count == 0)
                continue;
            var failed = list.Where(r => !r.Ok).ToList();
            sb.AppendLine(Inv($"{name} runs (detection / take-over / total): ")
                + string.Join("; ", list.Select(r => r.Ok ? Inv($"{r.Detection:0.00} / {r.Takeover:0.00} / {r.FirstRead:0.00}") : "failed")) + ".");
            foreach (var f in failed)
                sb.AppendLine(Inv($"- {name} run {f.Run} failed: {f.Error?.Split('\n')[0]}"));
            sb.AppendLine();
        }
        sb.AppendLine(Inv($"The client starts a new smbclient read every {ClientProbe.Stagger.TotalMilliseconds:0} ms (each given {ClientProbe.AttemptTimeout.TotalSeconds:0} s), so a read is timed to within about that, plus smbclient's own start and SMB negotiation (included in both columns)."));
        return sb.ToString().TrimEnd();
    }

    public static string Tsv(RunResult r) => Inv($"{r.Subject}\t{r.Run}\t{(r.Ok ? "ok" : "failed")}\t{r.Decision}\t{r.AddressOnTarget}\t{r.FirstRead}\t{r.ReadAttempts}\t{r.AgentTakeover}\t{r.BaselineRead}\t{r.Error?.Split('\n')[0]}");

    /// <summary>Replaces the text between `&lt;!-- bench:NAME:begin --&gt;` and `&lt;!-- bench:NAME:end --&gt;`.</summary>
    public static void ReplaceSection(string path, string name, string body)
    {
        var text = File.ReadAllText(path);
        var begin = $"<!-- bench:{name}:begin -->";
        var end = $"<!-- bench:{name}:end -->";
        int b = text.IndexOf(begin, StringComparison.Ordinal), e = text.IndexOf(end, StringComparison.Ordinal);
        if (b < 0 || e < b)
            throw new InvalidOperationException($"{path} has no {begin} … {end} markers");
        File.WriteAllText(path, text[..(b + begin.Length)] + "\n" + body + "\n" + text[e..]);
    }

    private static void Row(StringBuilder sb, string what, List<RunResult> ka, List<RunResult> ours, Func<RunResult, double> f, double? target)
    {
        var k = ka.Where(r => r.Ok).Select(f).Where(v => !double.IsNaN(v)).ToList();
        var o = ours.Where(r => r.Ok).Select(f).Where(v => !double.IsNaN(v)).ToList();
        string M(List<double> l) => l.Count > 0 ? Inv($"{Median(l):0.000}") : "–";
        string W(List<double> l) => l.Count > 0 ? Inv($"{l.Max():0.000}") : "–";
        var ratio = k.Count > 0 && o.Count > 0 && Median(k) > 0 ? Inv($"{Median(o) / Median(k):0.00}") : "–";
        var failedOurs = ours.Count(r => !r.Ok);
        var met = target is { } t && o.Count > 0
            ? (Median(o) < t ? "yes" : "**no**") + " / " + (o.Max() < t && failedOurs == 0 ? "yes" : "**no**")
            : "";
        sb.AppendLine($"| {what} | {M(k)} | {M(o)} | {ratio} | {W(k)} | {W(o)} | {(target is { } tt ? Inv($"< {tt:0.###}") : "")} | {met} |");
    }

    public static double Median(IReadOnlyList<double> values)
    {
        var v = values.Order().ToList();
        return v.Count % 2 == 1 ? v[v.Count / 2] : (v[v.Count / 2 - 1] + v[v.Count / 2]) / 2;
    }

    private static string CpuModel() =>
        File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";

    /// <summary>This process's nice value (field 19 of /proc/self/stat), which the lab's processes inherit.</summary>
    private static string Nice()
    {
        var stat = File.ReadAllText("/proc/self/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[16];
    }

    private static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
