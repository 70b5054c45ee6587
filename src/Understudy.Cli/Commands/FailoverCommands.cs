using System.CommandLine;
using System.Globalization;
using Understudy.Core.Api;
using static Understudy.Cli.TerminalText;

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
            var path = $"api/v1/failover/{Uri.EscapeDataString(job)}";
            var request = new FailoverRequest(r.GetValue(dismiss), r.GetValue(dryRun), r.GetValue(force));
            if (r.GetValue(dryRun))
            {
                // A dry run answers with the plan, not an outcome.
                var plan = await c.PostReplyAsync(path, request, ApiJson.Default.FailoverRequest, ApiJson.Default.FailoverPlanReply, ct);
                if (r.GetValue(json))
                {
                    Console.WriteLine(plan.Json);
                    return ExitCodes.Ok;
                }
                Console.WriteLine(Safe($"fail-over of '{job}' (now {plan.Value.State}) would take these steps:"));
                foreach (var line in plan.Value.Steps)
                    Console.WriteLine("  " + Safe(line));
                return ExitCodes.Ok;
            }
            var reply = await c.PostReplyAsync(path, request, ApiJson.Default.FailoverRequest, ApiJson.Default.FailoverReply, ct);
            var res = reply.Value;
            if (r.GetValue(json))
            {
                Console.WriteLine(reply.Json);
                return res.Completed ? ExitCodes.Ok : ExitCodes.Failed;
            }
            if (r.GetValue(dismiss))
            {
                Console.WriteLine(Safe($"{job}: fail-over dismissed; {res.State}"));
                return ExitCodes.Ok;
            }
            if (!res.Completed)
            {
                Console.Error.WriteLine(Safe($"understudy: fail-over of '{job}' aborted and undone: {res.AbortReason}"));
                return ExitCodes.Failed;
            }
            Console.WriteLine(Safe($"{job}: {res.State}" + (res.Warnings > 0 ? $" with {res.Warnings} warnings (see 'understudy events --job {job}')" : "")));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    /// <summary>Lines for `understudy status`: a hosted job's fail-over state and each watched address, each through
    /// <see cref="TerminalText.Safe"/> (the job's name and addresses are the source's).</summary>
    internal static IEnumerable<string> Describe(FailoverView f) => DescribeRaw(f).Select(Safe);

    private static IEnumerable<string> DescribeRaw(FailoverView f)
    {
        var head = $"{f.Name,-20} fail-over {f.State}";
        if (f.Reason is { } reason)
            head += $" ({reason})";
        // The interval as the JSON has it (shortest round-trip, invariant): "0.2", never "0,2".
        head += $"  trigger {f.Trigger}, mode {f.Mode}, policy {f.Policy}, every {f.IntervalSeconds.ToString(CultureInfo.InvariantCulture)} s × {f.Misses} misses";
        if (f.TimeLeftSeconds is { } left)
            head += $", acts in {left:0.#} s if nothing answers";
        if (f.Dismissed)
            head += ", dismissed";
        yield return head;
        if (f.Restore is { } restore)
        {
            yield return "    restore " + FailbackCommands.Describe(restore);
            foreach (var line in FailbackCommands.DescribeConflicts(restore))
                yield return line;
        }
        foreach (var a in f.Addresses)
        {
            var port = a.Port is { } p ? $":{p}" : "";
            var what = a.Probe is { } probe ? TerminalText.Safe(probe) : $"{a.Method} {TerminalText.Safe(a.Address)}{port}";
            var weight = f.Policy == "weight" ? $", weight {a.Weight}" : "";
            yield return $"    {what,-28} {a.State,-8} misses {a.Misses}{weight}, last reply {a.LastReply ?? "never"}";
        }
        if (f.SourceQueue is { } q)
        {
            yield return $"    source's queue: {q.Ops} changes not acknowledged ({q.Bytes} bytes), oldest {q.OldestAgeSeconds:0.#} s"
                + (q.RemirrorRequired ? ", past its queue limit" : "") + $" (reported {q.ReportedAt})";
        }
    }
}
