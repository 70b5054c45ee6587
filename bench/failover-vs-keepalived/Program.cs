using System.Globalization;
using Understudy.Testing.Lab;

namespace Understudy.Bench.Failover;

/// <summary>What one benchmark invocation does (command line: see <see cref="Program.Usage"/>).</summary>
internal sealed record Settings(int Runs, int IntervalMs, int Misses, string Only, string? WriteDoc, string? Results, RpoSettings? Rpo, bool Verbose, int? ArpCount,
    WitnessSettings? Witness = null)
{
    /// <summary>How long the client keeps trying after the cut before the run counts as failed.</summary>
    public TimeSpan Deadline => TimeSpan.FromMilliseconds(IntervalMs * Misses) + TimeSpan.FromSeconds(30);
}

internal static class Program
{
    public const string Usage = """
        failover-bench [--runs N] [--interval-ms MS] [--misses N] [--only understudy|keepalived]
                       [--results FILE.tsv] [--write-doc docs/performance.md] [--verbose] [--arp-count N]
        failover-bench --rpo [--rate FILES_PER_S] [--seconds S] [--runs N] [--write-doc docs/failover-planning.md]
        failover-bench --witness [--lease S] [--renew-ms MS] [--runs N] [--interval-ms MS] [--misses N] [--write-doc docs/performance.md]
        Needs root and: iproute2 iputils-ping samba smbclient keepalived (see bench/failover-vs-keepalived.sh).
        """;

    public static async Task<int> Main(string[] args)
    {
        Settings s;
        try
        {
            s = Parse(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync(e.Message + "\n" + Usage);
            return 2;
        }
        if (Environment.UserName != "root")
        {
            await Console.Error.WriteLineAsync("the lab needs root (network namespaces)");
            return 2;
        }
        if (s.Rpo is { } rpo)
            return await RpoBench.RunAsync(s, rpo);
        if (s.Witness is { } witness)
            return await WitnessBench.RunAsync(s, witness);

        var results = new List<RunResult>();
        for (var run = 1; run <= s.Runs; run++)
        {
            // Interleaved, so both see the same machine load over the whole benchmark.
            if (s.Only is "both" or "understudy")
                results.Add(await OneAsync("understudy", run, () => OursRun.RunAsync(run, s)));
            if (s.Only is "both" or "keepalived")
                results.Add(await OneAsync("keepalived", run, () => KeepalivedRun.RunAsync(run, s)));
        }
        var report = Report.Markdown(s, results);
        Console.WriteLine();
        Console.WriteLine(report);
        if (s.Results is { } tsv)
            await File.WriteAllLinesAsync(tsv, results.Select(Report.Tsv));
        if (s.WriteDoc is { } doc)
            Report.ReplaceSection(doc, s.ArpCount is { } n ? $"failover-arp{n}" : "failover", report);
        return 0;
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
            ? FormattableString.Invariant($"decision {r.Decision:0.000} s, address on target {r.AddressOnTarget:0.000} s, first read {r.FirstRead:0.000} s ({r.ReadAttempts} attempts){(r.AgentTakeover is { } a ? $", agent take-over {a:0.000} s" : "")}, one read before the cut {r.BaselineRead:0.000} s")
            : "FAILED: " + r.Error);
        return r;
    }

    private static Settings Parse(string[] args)
    {
        int runs = 10, interval = 1000, misses = 3;
        string only = "both";
        string? doc = null, results = null;
        var verbose = false;
        int? arpCount = null;
        RpoSettings? rpo = null;
        WitnessSettings? witness = null;
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Int() => int.TryParse(Next(), CultureInfo.InvariantCulture, out var v) && v > 0 ? v : throw new ArgumentException($"{args[i - 1]}: a positive number");
            switch (args[i])
            {
                case "--runs": runs = Int(); break;
                case "--interval-ms": interval = Int(); break;
                case "--misses": misses = Int(); break;
                case "--only": only = Next() is "understudy" or "keepalived" ? args[i] : throw new ArgumentException("--only understudy|keepalived"); break;
                case "--write-doc": doc = Next(); break;
                case "--results": results = Next(); break;
                case "--verbose": verbose = true; break;
                case "--arp-count": arpCount = int.TryParse(Next(), CultureInfo.InvariantCulture, out var c) && c >= 0 ? c : throw new ArgumentException("--arp-count: 0 or more"); break;
                case "--rpo": rpo ??= new RpoSettings(20, 10); break;
                case "--rate": rpo = (rpo ?? new RpoSettings(20, 10)) with { FilesPerSecond = Int() }; break;
                case "--seconds": rpo = (rpo ?? new RpoSettings(20, 10)) with { Seconds = Int() }; break;
                case "--witness": witness ??= new WitnessSettings(3, 1000); break;
                case "--lease": witness = (witness ?? new WitnessSettings(3, 1000)) with { LeaseSeconds = Int() }; break;
                case "--renew-ms": witness = (witness ?? new WitnessSettings(3, 1000)) with { RenewMs = Int() }; break;
                default: throw new ArgumentException($"unknown argument {args[i]}");
            }
        }
        return new Settings(runs, interval, misses, only, doc, results, rpo, verbose, arpCount, witness);
    }
}
