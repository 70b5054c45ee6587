using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Understudy.Testing.Lab;

namespace Understudy.Bench.Failover;

internal sealed record RpoSettings(int FilesPerSecond, int Seconds);

/// <summary>One write stream cut by a fail-over: what the source had written before the cut, and what the target had.</summary>
internal sealed record RpoResult(int Run, int WrittenBeforeCut, int Missing, double? LostWindow, double MaxOpsPending, double MaxOldestAge, double MedianOldestAge);

/// <summary>
/// RPO, measured: a writer creates 4 KiB files on the source at a steady rate while replication runs;
/// the source's `status --json` is sampled for the queue (opsPending, oldestPendingAgeSeconds);
/// then the source's link is cut mid-stream, the target fails over (automatic trigger), and every
/// file written before the cut that the target does not have, complete, is lost. The lost window is
/// the cut minus the write time of the oldest lost file.
/// </summary>
internal static class RpoBench
{
    public static async Task<int> RunAsync(Settings s, RpoSettings rpo)
    {
        var results = new List<RpoResult>();
        for (var run = 1; run <= s.Runs; run++)
        {
            Console.Write($"rpo run {run}: {rpo.FilesPerSecond} files/s for {rpo.Seconds} s ... ");
            try
            {
                var r = await OneAsync(run, s, rpo);
                results.Add(r);
                Console.WriteLine(FormattableString.Invariant(
                    $"{r.WrittenBeforeCut} written before the cut, {r.Missing} missing on the target, lost window {r.LostWindow?.ToString("0.000", CultureInfo.InvariantCulture) ?? "none"} s; queue: ops max {r.MaxOpsPending}, oldest age median {r.MedianOldestAge:0.000} s, max {r.MaxOldestAge:0.000} s"));
            }
            catch (Exception e) when (e is LabException or TimeoutException or InvalidOperationException or IOException)
            {
                Console.WriteLine("FAILED: " + e.Message);
            }
        }
        var md = Markdown(s, rpo, results);
        Console.WriteLine();
        Console.WriteLine(md);
        if (s.WriteDoc is { } doc)
            Report.ReplaceSection(doc, $"rpo-{rpo.FilesPerSecond}", md);
        return 0;
    }

    private static async Task<RpoResult> OneAsync(int run, Settings s, RpoSettings rpo)
    {
        await using var lab = await Lab.CreateAsync();
        var service = lab.NewServiceAddress();
        await lab.AddAddressAsync(lab.Source, service);
        var data = lab.Source.Sub("data");
        var replica = lab.Target.Sub("replica");
        Directory.CreateDirectory(data);
        var (source, target) = await LabAgent.StartPairAsync(lab);
        var failover = $"""
            failover:
              monitor:
                addresses: [{lab.Source.Address}]
                interval: {s.IntervalMs}ms
                misses: {s.Misses}
              trigger: automatic
              identity:
                addresses:
                  - address: {service}/{Lab.PrefixLength}
                    interface: {lab.Target.Interface}
            """;
        await source.ApplyJobAsync(LabAgent.JobYaml(OursRun.Job, data, target, replica, failover));
        await source.WaitMirroredAsync(OursRun.Job);

        // The writer: one 4 KiB file every 1/rate s, each stamped with the time its close returned.
        var written = new List<(string Name, DateTimeOffset At)>();
        using var stopWriting = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            var payload = new byte[4096];
            var period = TimeSpan.FromSeconds(1.0 / rpo.FilesPerSecond);
            var next = DateTimeOffset.UtcNow;
            for (var i = 0; !stopWriting.IsCancellationRequested; i++)
            {
                var name = $"f{i:D6}.dat";
                Random.Shared.NextBytes(payload);
                await File.WriteAllBytesAsync(Path.Combine(data, name), payload);
                lock (written)
                    written.Add((name, DateTimeOffset.UtcNow));
                next += period;
                var wait = next - DateTimeOffset.UtcNow;
                if (wait > TimeSpan.Zero)
                    await Task.Delay(wait); // the write rate itself, not a wait for a condition
            }
        });

        var ops = new List<double>();
        var ages = new List<double>();
        var until = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(rpo.Seconds);
        while (DateTimeOffset.UtcNow < until)
        {
            var st = await source.StatusAsync(OursRun.Job);
            ops.Add(st["replication"]?["opsPending"]?.GetValue<double>() ?? 0);
            ages.Add(st["replication"]?["oldestPendingAgeSeconds"]?.GetValue<double>() ?? 0);
            await Task.Delay(250); // sampling period
        }

        await lab.CutLinkAsync(lab.Source);
        var cut = DateTimeOffset.UtcNow;
        await stopWriting.CancelAsync();
        await writer;

        await WaitFailedOverAsync(target, TimeSpan.FromMilliseconds(s.IntervalMs * s.Misses) + TimeSpan.FromSeconds(60));
        List<(string Name, DateTimeOffset At)> before;
        lock (written)
            before = [.. written.Where(w => w.At < cut)];
        var lost = before.Where(w => !(new FileInfo(Path.Combine(replica, w.Name)) is { Exists: true, Length: 4096 })).ToList();
        double? window = lost.Count > 0 ? Math.Round((cut - lost.Min(l => l.At)).TotalSeconds, 3) : null;
        return new RpoResult(run, before.Count, lost.Count, window, ops.DefaultIfEmpty(0).Max(), ages.DefaultIfEmpty(0).Max(), ages.Count > 0 ? Report.Median(ages) : 0);
    }

    private static async Task WaitFailedOverAsync(LabAgent target, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var r = await target.CliAsync(["status", OursRun.Job, "--json"]);
            if (r.ExitCode == 0 && JsonNode.Parse(r.Stdout)?["state"]?.GetValue<string>() == "failed-over")
                return;
            if (DateTime.UtcNow > until)
                throw new LabException($"the target did not fail over: {r.Stdout}{r.Stderr}");
            await Task.Delay(200); // pacing between status calls
        }
    }

    private static string Markdown(Settings s, RpoSettings rpo, List<RpoResult> rs)
    {
        var sb = new StringBuilder();
        sb.AppendLine(FormattableString.Invariant(
            $"{rpo.FilesPerSecond} files/s of 4 KiB for {rpo.Seconds} s, then the cut (interval {s.IntervalMs / 1000.0:0.###} s, misses {s.Misses}, automatic); {rs.Count} run(s); `bench/failover-vs-keepalived.sh --rpo --rate {rpo.FilesPerSecond} --seconds {rpo.Seconds} --runs {s.Runs}`"));
        sb.AppendLine();
        sb.AppendLine("| run | files written before the cut | lost (not on the target) | lost window (s) | queue: max ops pending | oldest pending age: median / max (s) |");
        sb.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in rs)
            sb.AppendLine(FormattableString.Invariant(
                $"| {r.Run} | {r.WrittenBeforeCut} | {r.Missing} | {(r.LostWindow is { } w ? w.ToString("0.000", CultureInfo.InvariantCulture) : "–")} | {r.MaxOpsPending:0} | {r.MedianOldestAge:0.000} / {r.MaxOldestAge:0.000} |"));
        return sb.ToString().TrimEnd();
    }
}
