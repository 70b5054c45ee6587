using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using Understudy.Core.Api;
using static Understudy.Cli.TerminalText;

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
                var s = await c.GetReplyAsync("api/v1/status", ApiJson.Default.StatusReply, ct);
                // One job: the record written back as the agent wrote it (the same generated serializer, the same escaping).
                Console.WriteLine(only is null ? s.Json
                    : JobCommands.FindJob(s.Value, only) is { } j ? JsonSerializer.Serialize(j, ApiJson.Default.JobStatusView)
                    : s.Value.Failover.FirstOrDefault(f => f.Name == only) is { } f ? JsonSerializer.Serialize(f, ApiJson.Default.FailoverView)
                    : throw new CliException($"no job named '{only}'"));
                return ExitCodes.Ok;
            }
            if (r.GetValue(watch))
            {
                if (only is null)
                    throw new CliException("--watch needs a job name");
                return await WatchAsync(c, only, untilDone: false, ct);
            }
            var st = await c.GetAsync("api/v1/status", ApiJson.Default.StatusReply, ct);
            bool Named(string name) => only is null || name == only;
            bool any = st.Jobs.Any(j => Named(j.Name)) || st.Hosted.Any(h => Named(h.Name)) || st.Failover.Any(f => Named(f.Name));
            if (!any)
            {
                if (only is not null)
                    throw new CliException($"no job named '{only}' on agent {Safe(st.Agent.Name)}");
                Console.WriteLine($"agent {Safe(st.Agent.Name)}: no jobs (add one with 'understudy job apply FILE' or 'understudy job new')");
                return ExitCodes.Ok;
            }
            foreach (var j in st.Jobs)
            {
                if (only is not null && j.Name != only)
                    continue;
                Console.WriteLine(Describe(j));
            }
            if (only is null)
            {
                foreach (var h in st.Hosted)
                    Console.WriteLine($"{Safe(h.Name),-20} target of {Safe(h.SourceName)} → {Safe(h.TargetPath)} ({(h.Connected ? "connected" : "idle")})");
            }
            foreach (var f in st.Failover)
            {
                if (only is null || f.Name == only)
                    Console.WriteLine(string.Join('\n', FailoverCommands.Describe(f)));
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    internal static string Describe(JobStatusView j)
    {
        // Every string that came from the agent through Safe: names and paths may be a peer's (TerminalText).
        var line = $"{Safe(j.Name),-20} {j.State.Name(),-18}";
        if (j.Reason is { } reason)
            line += $" {Safe(reason)}";
        if (j.Mirror is { } m)
        {
            line += $"  mirror {Safe(m.Phase)}: {m.FilesDone}/{m.FilesTotal} files, {Bytes(m.BytesDone)}/{Bytes(m.BytesTotal)}, {Bytes((long)m.RateBytesPerSecond)}/s";
            if (m.EtaSeconds is { } eta)
                line += $", ETA {eta:0}s";
        }
        if (j.Replication is { Enabled: true } rep)
        {
            line += $"  lag: {rep.OpsPending} ops, {Bytes(rep.BytesPending)}";
            if (rep.OldestPendingAgeSeconds is { } age)
                line += $", oldest {age:0.0}s";
            if (rep.CaptureMethod is { } method)
                line += $"  capture: {Safe(method)}";
            if (rep.Watch is { } w)
            {
                if (!w.Ready)
                    line += $" (watching {w.DirectoriesWatched}/{w.DirectoriesSeen} directories)";
                if (w.Error is { } err)
                    line += $" [{Safe(err)}]";
            }
        }
        if (j.NotProtected is { Count: > 0 } np)
        {
            // Entries the target cannot take: each on its own line, so none hides in a long status line.
            line += $"\n  not protected: {np.Count} entries";
            foreach (var e in np.Entries)
                line += $"\n    {Safe(e.Path)}: {Safe(e.Reason)}";
        }
        if (j.Witness is { } witness)
            line += "\n  " + Safe(FailoverCommands.DescribeWitness(witness));
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
                var j = JobCommands.FindJob(await c.GetAsync("api/v1/status", ApiJson.Default.StatusReply, ct), name) ?? throw new CliException($"no job named '{name}'");
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
                // Spectre reads a description as markup: the name is escaped for the terminal and for markup.
                var shown = Markup.Escape(Safe(name));
                var task = p.AddTask(shown, maxValue: 1);
                while (!ct.IsCancellationRequested)
                {
                    var j = JobCommands.FindJob(await c.GetAsync("api/v1/status", ApiJson.Default.StatusReply, ct), name) ?? throw new CliException($"no job named '{name}'");
                    if (j.Mirror is { } m)
                    {
                        task.MaxValue = Math.Max(1, m.BytesTotal);
                        task.Value = m.BytesDone;
                        task.Description = $"{shown} [grey]{Markup.Escape(Safe(m.Phase))} {m.FilesDone}/{m.FilesTotal} files[/]";
                    }
                    else
                    {
                        task.Description = $"{shown} [grey]{j.State.Name()}[/]";
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
    private static bool CannotReach(JobStatusView j) => j.State is JobState.Error or JobState.Stopped;

    private static bool IsIdle(JobStatusView j) => CannotReach(j) || j.Idle;

    private static bool IsSettled(JobStatusView j) =>
        (j.State is JobState.InSync or JobState.Replicating or JobState.Paused or JobState.RemirrorRequired or JobState.Disconnected
            && j.Mirrored && j.Mirror?.Phase is null or "complete") || CannotReach(j);

    private static int Outcome(JobStatusView j) => CannotReach(j) ? ExitCodes.Failed : ExitCodes.Ok;

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
                var j = await c.GetAsync(after is { } a ? $"{path}?after={a}" : path, ApiJson.Default.JobStatusView, cts.Token);
                if (untilIdle ? IsIdle(j) : IsSettled(j))
                {
                    int o = Outcome(j);
                    if (o != ExitCodes.Ok)
                        Console.Error.WriteLine(j.State == JobState.Stopped ? $"understudy: job is stopped: {Safe(j.Reason)}" : $"understudy: job failed: {Safe(j.Reason)}");
                    return o;
                }
                after = untilIdle ? null : j.Changes;
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
            foreach (var ev in await c.GetAsync(q, ApiJson.Default.ApiEventArray, ct))
                Print(ev, r.GetValue(json));
            if (r.GetValue(follow))
            {
                var s = "api/v1/events/stream" + (r.GetValue(job) is { } jj ? $"?job={Uri.EscapeDataString(jj)}" : "");
                await foreach (var data in c.StreamAsync(s, ct))
                    Print(JsonSerializer.Deserialize(data, ApiJson.Default.ApiEvent)!, r.GetValue(json));
            }
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    // The code (docs/events.md) between category and job; an older agent sends none: "-".
    private static void Print(ApiEvent ev, bool json) =>
        Console.WriteLine(json ? JsonSerializer.Serialize(ev, ApiJson.Default.ApiEvent)
            : $"{ev.Time} {Safe(ev.Severity),-8} {Safe(ev.Category),-8} {ev.Code?.ToString(CultureInfo.InvariantCulture) ?? "-",3} {Safe(ev.Job ?? "-"),-16} {Safe(ev.Message)}");
}
