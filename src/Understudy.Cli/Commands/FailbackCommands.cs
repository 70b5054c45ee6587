using System.CommandLine;
using System.Text.Json.Nodes;

namespace Understudy.Cli.Commands;

/// <summary>`understudy restore NAME` and `understudy failback NAME`, run against the target agent (docs/cli.md).</summary>
internal static class FailbackCommands
{
    public static Command Restore()
    {
        var name = new Argument<string>("name") { Description = "The hosted, failed-over job (run this against the target agent)" };
        var force = new Option<bool>("--force") { Description = "With restore.conflicts: manual, park diverged files instead of stopping (after an operator inspected them)" };
        var wait = new Option<bool>("--wait") { Description = "Wait until the restore is in sync" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait with --wait", DefaultValueFactory = _ => 3600 };
        var json = new Option<bool>("--json") { Description = "Print the agent's JSON answer" };
        var cmd = new Command("restore", "Send this target's copy of a failed-over job back to the (passive) source, then keep it in sync until fail-back; "
            + "prints the restore's progress and each conflict (path → the name the source's version is kept under). "
            + "Exit 0: started (with --wait: in sync); 2: refused (not failed over), or with --wait the restore stopped (a conflict with restore.conflicts: manual); "
            + "3: --wait timed out")
        {
            Arguments = { name },
            Options = { force, wait, timeout, json },
        };
        cmd.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            var job = r.GetValue(name)!;
            var path = $"api/v1/failover/{Uri.EscapeDataString(job)}";
            var res = await c.PostAsync(path + "/restore", new JsonObject { ["force"] = r.GetValue(force) }, ct);
            if (r.GetValue(wait))
            {
                var deadline = DateTime.UtcNow.AddSeconds(r.GetValue(timeout));
                while (res["restore"]?["phase"]?.GetValue<string>() != "in sync")
                {
                    if (res["restore"]?["phase"]?.GetValue<string>() == "stopped")
                        throw new CliException($"the restore stopped: {res["restore"]?["error"]}");
                    if (DateTime.UtcNow > deadline)
                    {
                        Console.Error.WriteLine($"understudy: timed out waiting for the restore of '{job}' to be in sync");
                        return ExitCodes.Timeout;
                    }
                    await Task.Delay(500, ct);
                    res = await c.GetAsync(path + "/failback", ct);
                }
            }
            if (r.GetValue(json))
            {
                Console.WriteLine(res.ToJsonString());
                return ExitCodes.Ok;
            }
            Console.WriteLine($"{job}: {res["state"]}, restore {Describe(res["restore"])}");
            foreach (var line in DescribeConflicts(res["restore"]))
                Console.WriteLine(line);
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    public static Command Failback()
    {
        var name = new Argument<string>("name") { Description = "The hosted, restored job (run this against the target agent)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the exact steps, and whether fail-back would be refused now, without doing anything" };
        var json = new Option<bool>("--json") { Description = "Print the agent's JSON answer" };
        var cmd = new Command("failback", "Give a restored job back to its source: pre-fail-back scripts, stop writes here, final sync, release the identity, "
            + "the source reclaims it, post-fail-back scripts, forward replication resumes. Prints the steps. "
            + "Exit 0: done (or the dry run printed); 1: aborted and undone (still restoring); 2: refused, with what to run instead "
            + "(no restore yet, restore not in sync, source not connected, source still holds an address, restore stopped at a conflict), or unreachable agent")
        {
            Arguments = { name },
            Options = { dryRun, json },
        };
        cmd.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            var job = r.GetValue(name)!;
            bool dry = r.GetValue(dryRun);
            var res = await c.PostAsync($"api/v1/failover/{Uri.EscapeDataString(job)}/failback", new JsonObject { ["dryRun"] = dry }, ct);
            if (dry)
            {
                if (r.GetValue(json))
                {
                    Console.WriteLine(res.ToJsonString());
                    return ExitCodes.Ok;
                }
                Console.WriteLine($"fail-back of '{job}' (now {res["state"]}) would take these steps:");
                foreach (var line in res["steps"]!.AsArray())
                    Console.WriteLine("  " + line!.GetValue<string>());
                Console.WriteLine(res["refused"] is { } refused
                    ? $"it would be refused now: {refused}"
                    : "it may start now (whether the source still holds an address is asked when it starts)");
                return ExitCodes.Ok;
            }
            bool done = (bool)res["completed"]!;
            if (r.GetValue(json))
            {
                Console.WriteLine(res.ToJsonString());
                return done ? ExitCodes.Ok : ExitCodes.Failed;
            }
            foreach (var s in res["steps"]!.AsArray())
                Console.WriteLine($"  {s!["index"]}. {s["name"]}: {s["status"]}{(s["detail"] is { } d ? $" ({d})" : "")}");
            if (!done)
            {
                Console.Error.WriteLine($"understudy: fail-back of '{job}' aborted and undone: {res["abortReason"]}");
                return ExitCodes.Failed;
            }
            Console.WriteLine($"{job}: {res["state"]}" + ((int)res["warnings"]! > 0 ? $" with {res["warnings"]} warnings (see 'understudy events --job {job}')" : ""));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    /// <summary>One line for a restore's progress (status and the restore verb).</summary>
    internal static string Describe(JsonNode? v)
    {
        if (v is null)
            return "not running";
        var line = $"{v["phase"]}: {v["filesDone"]}/{v["filesTotal"]} files, {v["bytesDone"]}/{v["bytesTotal"]} bytes, {v["rootsInSync"]}/{v["roots"]} paths in sync";
        if (v["lastSyncAt"] is { } at)
            line += $", last sync {at}";
        var conflicts = v["conflicts"]?.AsArray().Count ?? 0;
        if (conflicts > 0)
            line += $", {conflicts} conflicts";
        if (v["error"] is { } e)
            line += $" ({e})";
        return line;
    }

    /// <summary>Lines for `understudy restore` and `status`: each conflict of a restore, path → the name the source's version is kept under.</summary>
    internal static IEnumerable<string> DescribeConflicts(JsonNode? v)
    {
        foreach (var c in v?["conflicts"]?.AsArray() ?? [])
            yield return $"    conflict {c!["path"]} → " + (c["parkedAs"] is { } p ? $"{p} (the source's version, kept on the source)" : "(the source's version was discarded)");
    }
}
