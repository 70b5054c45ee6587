using System.Diagnostics;
using Understudy.Core.Api;
using static Understudy.Cli.TerminalText;

namespace Understudy.Cli.Commands;

/// <summary>The demo's later acts: live replication of a burst of changes, then a fail-over.</summary>
internal static partial class DemoCommand
{
    /// <summary>A post-fail-over script in the target's scripts directory (the only place a plan's scripts run from), to show
    /// that scripts run and their output lands in the event log; returns the name the plan uses.</summary>
    private static string PostFailoverScript(string targetDataDir)
    {
        var scripts = DemoAgent.ScriptsDir(targetDataDir);
        Directory.CreateDirectory(scripts);
        var path = Path.Combine(scripts, "post-failover.sh");
        File.WriteAllText(path, "#!/bin/sh\necho \"$UNDERSTUDY_JOB: $UNDERSTUDY_PHASE done; clients would now be served by the target\"\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return "post-failover.sh";
    }

    /// <summary>What the target's operator does before any fail-over can run: look at the plan the source sent
    /// (`understudy failover demo --show`), then approve it (`--approve`).</summary>
    private static async Task ApprovePlanAsync(ApiClient tc, CancellationToken ct)
    {
        var plan = await tc.GetAsync("api/v1/failover/demo/plan", ApiJson.Default.FailoverPlanView, ct);
        Console.WriteLine();
        Console.WriteLine($"the target's operator reviews the fail-over plan the source sent (understudy failover demo --show), digest {plan.Digest[..12]}:");
        foreach (var line in plan.Plan)
            Console.WriteLine("  " + Safe(line));
        await tc.PostAsync("api/v1/failover/demo/approve", new ApproveRequest(plan.Digest), ApiJson.Default.ApproveRequest, ApiJson.Default.FailoverPlanView, ct);
        Console.WriteLine("and approves it (understudy failover demo --approve): until then nothing would fail over");
    }

    /// <summary>Creates, rewrites, renames and deletes files, then waits until the target has all of it durably.</summary>
    private static async Task<bool> ReplicateAsync(ApiClient sc, string data, CancellationToken ct)
    {
        Console.WriteLine();
        Console.WriteLine("live replication: creating 200 files, appending to one, renaming a directory, deleting a file ...");
        var clock = Stopwatch.StartNew();
        var fresh = Path.Combine(data, "new today");
        Directory.CreateDirectory(fresh);
        for (int i = 0; i < 200; i++)
            await File.WriteAllTextAsync(Path.Combine(fresh, $"note{i:D3}.txt"), $"written during replication, #{i}\n", ct);
        await File.AppendAllTextAsync(Path.Combine(data, "dept1", "project1", "file00001.txt"), "one more line\n", ct);
        Directory.Move(Path.Combine(data, "dept2", "project2"), Path.Combine(data, "dept2", "project2-renamed"));
        File.Delete(Path.Combine(data, "dept3", "project3", "file00003.txt"));
        var changed = clock.Elapsed;
        using (var cts = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            cts.CancelAfter(TimeSpan.FromSeconds(60));
            while (true)
            {
                var j = JobCommands.FindJob(await sc.GetAsync("api/v1/status", ApiJson.Default.StatusReply, cts.Token), "demo");
                if (j?.State == JobState.Error)
                {
                    Console.Error.WriteLine($"understudy demo: replication failed: {Safe(j.Reason)}");
                    return false;
                }
                if (j?.Idle == true)
                    break;
                await Task.Delay(20, cts.Token);
            }
        }
        Console.WriteLine($"all changes durable on the target {(clock.Elapsed - changed).TotalMilliseconds:0} ms after the last one was made");
        var report = await sc.PostAsync("api/v1/jobs/demo/verify", new VerifyRequest(Checksum: true, Repair: false), ApiJson.Default.VerifyRequest, ApiJson.Default.VerifyReport, ct);
        int diffs = report.Differences.Count;
        Console.WriteLine(diffs == 0 ? "verify --checksum: identical" : $"verify --checksum: {diffs} differences");
        return diffs == 0;
    }

    /// <summary>With the source agent stopped, prints the target's fail-over states as they change, then the step events.</summary>
    private static async Task<bool> FailOverAsync(ApiClient tc, CancellationToken ct)
    {
        Console.WriteLine();
        Console.WriteLine("fail-over: the source agent is stopped; the target probes its port every 500 ms, 3 misses mean lost");
        var clock = Stopwatch.StartNew();
        string? last = null;
        using (var cts = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            cts.CancelAfter(TimeSpan.FromSeconds(60));
            while (last is not ("failed-over" or "fail-over-pending"))
            {
                var f = (await tc.GetAsync("api/v1/failover/demo", ApiJson.Default.FailoverDetail, cts.Token)).Failover;
                var state = f.State;
                if (state != last)
                {
                    Console.WriteLine($"  {clock.Elapsed.TotalSeconds,5:0.0} s  {state}{(f.Reason is { } r ? $": {Safe(r)}" : "")}");
                    last = state;
                }
                await Task.Delay(50, cts.Token);
            }
        }
        var events = await tc.GetAsync("api/v1/events?job=demo&limit=30", ApiJson.Default.ApiEventArray, ct);
        Console.WriteLine("target's event log for the job (understudy events --job demo):");
        foreach (var e in events)
            Console.WriteLine($"  {e.Severity,-8} {e.Category,-9} {Safe(e.Message)}");
        return last == "failed-over";
    }

    /// <summary>The source is back and passive: restore the target's data to it, then fail back and check the client's file came home.</summary>
    private static async Task<bool> FailBackAsync(ApiClient sc, ApiClient tc, string data, CancellationToken ct)
    {
        Console.WriteLine();
        Console.WriteLine("fail-back: a client wrote a file on the target; the source agent is back and stays passive");
        var clock = Stopwatch.StartNew();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(TimeSpan.FromSeconds(90));
        await UntilAsync(async () => JobCommands.FindJob(await sc.GetAsync("api/v1/status", ApiJson.Default.StatusReply, cts.Token), "demo")?.State
            == JobState.FailedOverPassive, cts.Token);
        Console.WriteLine($"  {clock.Elapsed.TotalSeconds,5:0.0} s  source: failed-over (passive) — it does not take the identity back by itself");
        await tc.PostAsync("api/v1/failover/demo/restore", new RestoreRequest(), ApiJson.Default.RestoreRequest, ApiJson.Default.RestoreReply, cts.Token);
        Console.WriteLine($"  {clock.Elapsed.TotalSeconds,5:0.0} s  understudy restore demo: the target sends what changed back to the source");
        await UntilAsync(async () => (await tc.GetAsync("api/v1/failover/demo", ApiJson.Default.FailoverDetail, cts.Token)).Failover.Restore?.Phase == "in sync", cts.Token);
        Console.WriteLine($"  {clock.Elapsed.TotalSeconds,5:0.0} s  restore in sync");
        var r = await tc.PostAsync("api/v1/failover/demo/failback", new FailbackRequest(), ApiJson.Default.FailbackRequest, ApiJson.Default.FailbackReply, cts.Token);
        Console.WriteLine($"  {clock.Elapsed.TotalSeconds,5:0.0} s  understudy failback demo: {r.State}{(r.AbortReason is { } why ? $" (aborted: {why})" : "")}");
        if (!r.Completed)
            return false;
        await UntilAsync(async () => JobCommands.FindJob(await sc.GetAsync("api/v1/status", ApiJson.Default.StatusReply, cts.Token), "demo")?.State == JobState.Replicating, cts.Token);
        bool home = File.Exists(Path.Combine(data, "written during the fail-over.txt"));
        Console.WriteLine($"  {clock.Elapsed.TotalSeconds,5:0.0} s  source replicating again; the client's file is {(home ? "home" : "MISSING")} in {data}");
        return home;
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, CancellationToken ct)
    {
        while (!await condition())
            await Task.Delay(50, ct);
    }
}
