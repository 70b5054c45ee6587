using System.CommandLine;
using Understudy.Core.Api;
using static Understudy.Cli.TerminalText;

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
            var started = await c.PostReplyAsync(path + "/restore", new RestoreRequest(r.GetValue(force)), ApiJson.Default.RestoreRequest, ApiJson.Default.RestoreReply, ct);
            // What is printed: the restore's answer, or with --wait the fail-back plan (GET …/failback), which carries the restore's progress.
            (string State, RestoreView? Restore, string Json) res = (started.Value.State, started.Value.Restore, started.Json);
            if (r.GetValue(wait))
            {
                var deadline = DateTime.UtcNow.AddSeconds(r.GetValue(timeout));
                while (res.Restore?.Phase != "in sync")
                {
                    if (res.Restore?.Phase == "stopped")
                        throw new CliException($"the restore stopped: {res.Restore.Error}");
                    if (DateTime.UtcNow > deadline)
                    {
                        Console.Error.WriteLine(Safe($"understudy: timed out waiting for the restore of '{job}' to be in sync"));
                        return ExitCodes.Timeout;
                    }
                    await Task.Delay(500, ct);
                    var plan = await c.GetReplyAsync(path + "/failback", ApiJson.Default.FailbackPlanReply, ct);
                    res = (plan.Value.State, plan.Value.Restore, plan.Json);
                }
            }
            if (r.GetValue(json))
            {
                Console.WriteLine(res.Json);
                return ExitCodes.Ok;
            }
            Console.WriteLine(Safe($"{job}: {res.State}, restore {Describe(res.Restore)}"));
            foreach (var line in DescribeConflicts(res.Restore))
                Console.WriteLine(Safe(line));
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
            var path = $"api/v1/failover/{Uri.EscapeDataString(job)}/failback";
            if (dry)
            {
                // A dry run answers with the plan, not an outcome.
                var plan = await c.PostReplyAsync(path, new FailbackRequest(DryRun: true), ApiJson.Default.FailbackRequest, ApiJson.Default.FailbackPlanReply, ct);
                if (r.GetValue(json))
                {
                    Console.WriteLine(plan.Json);
                    return ExitCodes.Ok;
                }
                Console.WriteLine(Safe($"fail-back of '{job}' (now {plan.Value.State}) would take these steps:"));
                foreach (var line in plan.Value.Steps)
                    Console.WriteLine("  " + Safe(line));
                Console.WriteLine(plan.Value.Refused is { } refused
                    ? $"it would be refused now: {Safe(refused)}"
                    : "it may start now (whether the source still holds an address is asked when it starts)");
                return ExitCodes.Ok;
            }
            var reply = await c.PostReplyAsync(path, new FailbackRequest(DryRun: false), ApiJson.Default.FailbackRequest, ApiJson.Default.FailbackReply, ct);
            var res = reply.Value;
            bool done = res.Completed;
            if (r.GetValue(json))
            {
                Console.WriteLine(reply.Json);
                return done ? ExitCodes.Ok : ExitCodes.Failed;
            }
            foreach (var s in res.Steps)
                Console.WriteLine(Safe($"  {s.Index}. {s.Name}: {s.Status}{(s.Detail is { } d ? $" ({d})" : "")}"));
            if (!done)
            {
                Console.Error.WriteLine(Safe($"understudy: fail-back of '{job}' aborted and undone: {res.AbortReason}"));
                return ExitCodes.Failed;
            }
            Console.WriteLine(Safe($"{job}: {res.State}" + (res.Warnings > 0 ? $" with {res.Warnings} warnings (see 'understudy events --job {job}')" : "")));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    /// <summary>One line for a restore's progress (status and the restore verb).</summary>
    internal static string Describe(RestoreView? v)
    {
        if (v is null)
            return "not running";
        var line = $"{v.Phase}: {v.FilesDone}/{v.FilesTotal} files, {v.BytesDone}/{v.BytesTotal} bytes, {v.RootsInSync}/{v.Roots} paths in sync";
        if (v.LastSyncAt is { } at)
            line += $", last sync {at}";
        var conflicts = v.Conflicts?.Count ?? 0;
        if (conflicts > 0)
            line += $", {conflicts} conflicts";
        if (v.Error is { } e)
            line += $" ({e})";
        return line;
    }

    /// <summary>Lines for `understudy restore` and `status`: each conflict of a restore, path → the name the source's version is kept under.</summary>
    internal static IEnumerable<string> DescribeConflicts(RestoreView? v)
    {
        foreach (var c in v?.Conflicts ?? [])
            yield return $"    conflict {c.Path} → " + (c.ParkedAs is { } p ? $"{p} (the source's version, kept on the source)" : "(the source's version was discarded)");
    }
}
