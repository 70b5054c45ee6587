using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Understudy.Cli.Commands;

internal static class StatusCommands
{
    public static Command Status()
    {
        var name = new Argument<string?>("name") { Description = "Only this job", Arity = ArgumentArity.ZeroOrOne };
        var watch = new Option<bool>("--watch") { Description = "Keep updating: a live progress bar in a terminal" };
        var json = new Option<bool>("--json") { Description = "Stable JSON for scripts (docs/cli.md)" };
        var cmd = new Command("status",
            "Show the jobs this agent is source of (state and reason, mirror progress: files, bytes, rate, ETA; replication lag) and, on a target, "
            + "the jobs it hosts with each one's fail-over: state, every watched address (up/missing, misses, last reply), the time left before the monitor acts, "
            + "and after a fail-over the restore's phase, files and bytes and each conflict. Exit 0: shown; 2: no such job or unreachable agent")
        { Arguments = { name }, Options = { watch, json } };
        cmd.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            var only = r.GetValue(name);
            if (r.GetValue(json))
            {
                var s = await c.GetAsync("api/v1/status", ct);
                if (only is not null)
                    s = JobCommands.FindJob(s, only)?.DeepClone()
                        ?? s["failover"]?.AsArray().FirstOrDefault(f => f!["name"]!.GetValue<string>() == only)?.DeepClone()
                        ?? throw new CliException($"no job named '{only}'");
                Console.WriteLine(s.ToJsonString());
                return ExitCodes.Ok;
            }
            if (r.GetValue(watch))
            {
                if (only is null)
                    throw new CliException("--watch needs a job name");
                return await WatchAsync(c, only, untilDone: false, ct);
            }
            var st = await c.GetAsync("api/v1/status", ct);
            bool Named(JsonNode? n) => only is null || n?["name"]?.GetValue<string>() == only;
            bool any = st["jobs"]!.AsArray().Any(Named) || st["hosted"]!.AsArray().Any(Named) || (st["failover"]?.AsArray().Any(Named) ?? false);
            if (!any)
            {
                if (only is not null)
                    throw new CliException($"no job named '{only}' on agent {st["agent"]?["name"]}");
                Console.WriteLine($"agent {st["agent"]?["name"]}: no jobs (add one with 'understudy job apply FILE' or 'understudy job new')");
                return ExitCodes.Ok;
            }
            foreach (var j in st["jobs"]!.AsArray())
            {
                if (only is not null && j!["name"]!.GetValue<string>() != only)
                    continue;
                Console.WriteLine(Describe(j!));
            }
            if (only is null)
            {
                foreach (var h in st["hosted"]!.AsArray())
                    Console.WriteLine($"{h!["name"],-20} target of {h["sourceName"]} → {h["targetPath"]} ({((bool)h["connected"]! ? "connected" : "idle")})");
            }
            foreach (var f in st["failover"]?.AsArray() ?? [])
            {
                if (only is null || f!["name"]!.GetValue<string>() == only)
                    Console.WriteLine(string.Join('\n', FailoverCommands.Describe(f!)));
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    internal static string Describe(JsonNode j)
    {
        var line = $"{j["name"],-20} {j["state"],-18}";
        if (j["reason"] is { } reason)
            line += $" {reason}";
        if (j["mirror"] is JsonObject m)
        {
            line += $"  mirror {m["phase"]}: {m["filesDone"]}/{m["filesTotal"]} files, {Bytes((long)m["bytesDone"]!)}/{Bytes((long)m["bytesTotal"]!)}, {Bytes((long)(double)m["rateBytesPerSecond"]!)}/s";
            if (m["etaSeconds"] is { } eta)
                line += $", ETA {(double)eta:0}s";
        }
        if (j["replication"] is JsonObject rep && (bool)rep["enabled"]!)
        {
            line += $"  lag: {rep["opsPending"]} ops, {Bytes((long)rep["bytesPending"]!)}";
            if (rep["oldestPendingAgeSeconds"] is { } age)
                line += $", oldest {(double)age:0.0}s";
            if (rep["captureMethod"] is { } method)
                line += $"  capture: {method}";
            if (rep["watch"] is JsonObject w)
            {
                if (!(bool)w["ready"]!)
                    line += $" (watching {w["directoriesWatched"]}/{w["directoriesSeen"]} directories)";
                if (w["error"] is { } err)
                    line += $" [{err}]";
            }
        }
        if (j["notProtected"] is JsonObject np && (long)np["count"]! > 0)
        {
            // Entries the target cannot take: each on its own line, so none hides in a long status line.
            line += $"\n  not protected: {np["count"]} entries";
            foreach (var e in np["entries"]!.AsArray())
                line += $"\n    {e!["path"]}: {e["reason"]}";
        }
        return line;
    }

    internal static string Bytes(long n) => n switch
    {
        < 1024 => $"{n} B",
        < 1024 * 1024 => $"{n / 1024.0:0.0} KiB",
        < 1024L * 1024 * 1024 => $"{n / 1048576.0:0.0} MiB",
        _ => $"{n / 1073741824.0:0.00} GiB",
    };

    /// <summary>Follows one job's mirror: a Spectre progress bar on a terminal, plain lines when redirected.</summary>
    internal static async Task<int> WatchAsync(ApiClient c, string name, bool untilDone, CancellationToken ct)
    {
        if (Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
        {
            while (!ct.IsCancellationRequested)
            {
                var j = JobCommands.FindJob(await c.GetAsync("api/v1/status", ct), name) ?? throw new CliException($"no job named '{name}'");
                Console.WriteLine(Describe(j));
                if (untilDone && IsSettled(j))
                    return Outcome(j);
                await Task.Delay(1000, ct);
            }
            return ExitCodes.Ok;
        }
        int result = ExitCodes.Ok;
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async p =>
            {
                var task = p.AddTask(name, maxValue: 1);
                while (!ct.IsCancellationRequested)
                {
                    var j = JobCommands.FindJob(await c.GetAsync("api/v1/status", ct), name) ?? throw new CliException($"no job named '{name}'");
                    if (j["mirror"] is JsonObject m)
                    {
                        task.MaxValue = Math.Max(1, (long)m["bytesTotal"]!);
                        task.Value = (long)m["bytesDone"]!;
                        task.Description = $"{name} [grey]{m["phase"]} {m["filesDone"]}/{m["filesTotal"]} files[/]";
                    }
                    else
                    {
                        task.Description = $"{name} [grey]{j["state"]}[/]";
                    }
                    if (untilDone && IsSettled(j))
                    {
                        task.Value = task.MaxValue;
                        result = Outcome(j);
                        return;
                    }
                    await Task.Delay(250, ct);
                }
            });
        return result;
    }

    // A stopped job reaches no condition until it is started: waiting ends at once, as for a failed job.
    private static bool CannotReach(JsonNode j) => j["state"]!.GetValue<string>() is "error" or "stopped";

    private static bool IsIdle(JsonNode j) => CannotReach(j) || j["idle"]?.GetValue<bool>() == true;

    private static bool IsSettled(JsonNode j)
    {
        var s = j["state"]!.GetValue<string>();
        return (s is "in-sync" or "replicating" or "paused" or "re-mirror-required" or "disconnected" && (bool)j["mirrored"]! && j["mirror"]?["phase"]?.GetValue<string>() is null or "complete") || CannotReach(j);
    }

    private static int Outcome(JsonNode j) => CannotReach(j) ? ExitCodes.Failed : ExitCodes.Ok;

    public static Command Wait()
    {
        var name = new Argument<string>("name") { Description = "Job name" };
        var until = new Option<string>("--until")
        {
            Description = "mirrored: the mirror is complete and durable on the target; idle: also every captured change is durable on the target",
            DefaultValueFactory = _ => "mirrored",
        };
        until.AcceptOnlyFromAmong("mirrored", "idle");
        var timeout = new Option<double?>("--timeout") { Description = "Give up after SECONDS (exit 3)" };
        var cmd = new Command("wait", "Wait for a job condition. Exit 0: reached; 1: the job failed (state error) or is stopped; 2: no such job or unreachable agent; 3: timed out")
        {
            Arguments = { name },
            Options = { until, timeout },
        };
        cmd.SetAction(GlobalOptions.Run((r, c, ct) => WaitForAsync(c, r.GetValue(name)!, r.GetValue(until) == "idle", r.GetValue(timeout), null, ct)));
        return cmd;
    }

    /// <summary>Waits until the job is mirrored (or idle); the exit code of `wait`. For `mirrored`, each request is a
    /// long poll (`GET …/status?after=N`) that the agent answers at the job's next state change, so the end of a
    /// mirror is seen at once and nothing polls meanwhile; <paramref name="seen"/> is a change count the caller
    /// already has (the mirror request's). `idle` also depends on the replication queue, which changes no state:
    /// that is polled every 20 ms.</summary>
    internal static async Task<int> WaitForAsync(ApiClient c, string name, bool untilIdle, double? timeoutSeconds, long? seen, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (timeoutSeconds is { } t)
            cts.CancelAfter(TimeSpan.FromSeconds(t));
        var path = $"api/v1/jobs/{Uri.EscapeDataString(name)}/status";
        long? after = untilIdle ? null : seen;
        try
        {
            while (true)
            {
                var j = await c.GetAsync(after is { } a ? $"{path}?after={a}" : path, cts.Token);
                if (untilIdle ? IsIdle(j) : IsSettled(j))
                {
                    int o = Outcome(j);
                    if (o != ExitCodes.Ok)
                        Console.Error.WriteLine(j["state"]!.GetValue<string>() == "stopped" ? $"understudy: job is stopped: {j["reason"]}" : $"understudy: job failed: {j["reason"]}");
                    return o;
                }
                after = untilIdle ? null : j["changes"]?.GetValue<long>();
                if (after is null)
                    await Task.Delay(20, cts.Token);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            Console.Error.WriteLine("understudy: timed out");
            return ExitCodes.Timeout;
        }
    }

    public static Command Events()
    {
        var job = new Option<string?>("--job") { Description = "Only this job's events" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new events as they happen" };
        var json = new Option<bool>("--json") { Description = "One JSON object per line" };
        var limit = new Option<int>("--limit") { Description = "How many recent events", DefaultValueFactory = _ => 50 };
        var cmd = new Command("events", "List the agent's event log: time, severity, category, code (docs/events.md), job, message") { Options = { job, follow, json, limit } };
        cmd.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            var q = $"api/v1/events?limit={r.GetValue(limit)}" + (r.GetValue(job) is { } j ? $"&job={Uri.EscapeDataString(j)}" : "");
            foreach (var ev in (await c.GetAsync(q, ct)).AsArray())
                Print(ev!, r.GetValue(json));
            if (r.GetValue(follow))
            {
                var s = "api/v1/events/stream" + (r.GetValue(job) is { } jj ? $"?job={Uri.EscapeDataString(jj)}" : "");
                await foreach (var data in c.StreamAsync(s, ct))
                    Print(JsonNode.Parse(data)!, r.GetValue(json));
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    // The code (docs/events.md) between category and job; an older agent sends none: "-".
    private static void Print(JsonNode ev, bool json) =>
        Console.WriteLine(json ? ev.ToJsonString() : $"{ev["time"]} {ev["severity"],-8} {ev["category"],-8} {ev["code"]?.ToString() ?? "-",3} {ev["job"] ?? "-",-16} {ev["message"]}");
}
