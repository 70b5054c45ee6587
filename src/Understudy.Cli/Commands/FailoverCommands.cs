using System.CommandLine;
using System.Text.Json.Nodes;

namespace Understudy.Cli.Commands;

/// <summary>`understudy failover NAME [--dismiss] [--dry-run] [--force]`, run against the target agent.</summary>
internal static class FailoverCommands
{
    public static Command Failover()
    {
        var name = new Argument<string>("name") { Description = "The hosted job (run this against the target agent)" };
        var dismiss = new Option<bool>("--dismiss") { Description = "Stand down a pending fail-over: keep protecting, take nothing over" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the exact steps without doing them" };
        var force = new Option<bool>("--force") { Description = "Take the addresses even when they still answer (skip duplicate address detection)" };
        var json = new Option<bool>("--json") { Description = "Print the agent's JSON answer" };
        var cmd = new Command("failover", "Fail a hosted job over to this target now (planned), confirm a pending fail-over, or dismiss it; returns when the take-over is done. "
            + "Exit 0: done (or dismissed, or the dry run printed); 1: aborted and undone (the job is fail-over-pending); "
            + "2: refused in this state (the message says why), no such job, or unreachable agent")
        {
            Arguments = { name },
            Options = { dismiss, dryRun, force, json },
        };
        cmd.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            if (r.GetValue(dismiss) && (r.GetValue(dryRun) || r.GetValue(force)))
                throw new CliException("--dismiss cannot be combined with --dry-run or --force");
            var job = r.GetValue(name)!;
            var res = await c.PostAsync($"api/v1/failover/{Uri.EscapeDataString(job)}",
                new JsonObject { ["dismiss"] = r.GetValue(dismiss), ["dryRun"] = r.GetValue(dryRun), ["force"] = r.GetValue(force) }, ct);
            if (r.GetValue(json))
            {
                Console.WriteLine(res.ToJsonString());
                return res["completed"] is { } cj && !(bool)cj! ? ExitCodes.Failed : ExitCodes.Ok;
            }
            if (r.GetValue(dryRun))
            {
                Console.WriteLine($"fail-over of '{job}' (now {res["state"]}) would take these steps:");
                foreach (var line in res["steps"]!.AsArray())
                    Console.WriteLine("  " + line!.GetValue<string>());
                return ExitCodes.Ok;
            }
            if (r.GetValue(dismiss))
            {
                Console.WriteLine($"{job}: fail-over dismissed; {res["state"]}");
                return ExitCodes.Ok;
            }
            if (!(bool)res["completed"]!)
            {
                Console.Error.WriteLine($"understudy: fail-over of '{job}' aborted and undone: {res["abortReason"]}");
                return ExitCodes.Failed;
            }
            Console.WriteLine($"{job}: {res["state"]}" + ((int)res["warnings"]! > 0 ? $" with {res["warnings"]} warnings (see 'understudy events --job {job}')" : ""));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    /// <summary>Lines for `understudy status`: a hosted job's fail-over state and each watched address.</summary>
    internal static IEnumerable<string> Describe(JsonNode f)
    {
        var head = $"{f["name"],-20} fail-over {f["state"]}";
        if (f["reason"] is { } reason)
            head += $" ({reason})";
        head += $"  trigger {f["trigger"]}, mode {f["mode"]}, policy {f["policy"]}, every {f["intervalSeconds"]} s × {f["misses"]} misses";
        if (f["timeLeftSeconds"] is { } left)
            head += $", acts in {(double)left:0.#} s if nothing answers";
        if ((bool)f["dismissed"]!)
            head += ", dismissed";
        yield return head;
        if (f["restore"] is { } restore)
        {
            yield return "    restore " + FailbackCommands.Describe(restore);
            foreach (var line in FailbackCommands.DescribeConflicts(restore))
                yield return line;
        }
        foreach (var a in f["addresses"]!.AsArray())
        {
            var port = a!["port"] is { } p ? $":{p}" : "";
            yield return $"    {a["method"]} {a["address"]}{port,-6} {a["state"],-8} misses {a["misses"]}, last reply {a["lastReply"] ?? "never"}";
        }
        if (f["sourceQueue"] is { } q)
        {
            yield return $"    source's queue: {q["ops"]} changes not acknowledged ({q["bytes"]} bytes), oldest {(double)q["oldestAgeSeconds"]!:0.#} s"
                + ((bool?)q["remirrorRequired"] == true ? ", past its queue limit" : "") + $" (reported {q["reportedAt"]})";
        }
    }
}
