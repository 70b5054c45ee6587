using System.CommandLine;
using System.Globalization;
using Understudy.Core.Api;
using static Understudy.Cli.TerminalText;

namespace Understudy.Cli.Commands;

/// <summary>`understudy failover NAME [--dismiss] [--dry-run] [--force] [--show] [--approve [--digest D]]`, run against the target agent.</summary>
internal static class FailoverCommands
{
    public static Command Failover()
    {
        var name = new Argument<string>("name") { Description = "The hosted job (run this against the target agent)" };
        var dismiss = new Option<bool>("--dismiss") { Description = "Stand down a pending fail-over: keep protecting, take nothing over" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the exact steps without doing them" };
        var force = new Option<bool>("--force") { Description = "Take the addresses even when they still answer (skip duplicate address detection)" };
        var show = new Option<bool>("--show") { Description = "Print the fail-over plan the source sent (what it would do here, as root), its digest, whether it is approved, and what changed since the last approval" };
        var approve = new Option<bool>("--approve") { Description = "Approve the plan: print it, then approve exactly what was printed (its digest); nothing fails over until a plan is approved, and a changed plan needs approval again" };
        var digest = new Option<string?>("--digest") { Description = "With --approve: approve only the plan with this digest (as --show printed it), without printing it again" };
        var json = new Option<bool>("--json") { Description = "Print the agent's JSON answer" };
        var cmd = new Command("failover", "Fail a hosted job over to this target now (planned), confirm a pending fail-over, or dismiss it; returns when the take-over is done. "
            + "The plan must first be approved on this target (--show, then --approve). "
            + "Exit 0: done (or dismissed, shown, approved, or the dry run printed); 1: aborted and undone (the job is fail-over-pending); "
            + "2: refused in this state or plan not approved (the message says why), no such job, or unreachable agent")
        {
            Arguments = { name },
            Options = { dismiss, dryRun, force, show, approve, digest, json },
        };
        cmd.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            if (r.GetValue(dismiss) && (r.GetValue(dryRun) || r.GetValue(force)))
                throw new CliException("--dismiss cannot be combined with --dry-run or --force");
            if ((r.GetValue(show) || r.GetValue(approve)) && (r.GetValue(dismiss) || r.GetValue(dryRun) || r.GetValue(force)))
                throw new CliException("--show and --approve cannot be combined with --dismiss, --dry-run or --force");
            if (r.GetValue(digest) is not null && !r.GetValue(approve))
                throw new CliException("--digest goes with --approve");
            var job = r.GetValue(name)!;
            var path = $"api/v1/failover/{Uri.EscapeDataString(job)}";
            if (r.GetValue(show) || r.GetValue(approve))
                return await PlanAsync(c, job, path, r.GetValue(approve), r.GetValue(digest), r.GetValue(json), ct);
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

    /// <summary>`--show` prints the plan; `--approve` prints it and approves its digest (or approves <paramref name="digest"/> as given).</summary>
    private static async Task<int> PlanAsync(ApiClient c, string job, string path, bool approve, string? digest, bool json, CancellationToken ct)
    {
        FailoverPlanView plan;
        if (digest is null)
        {
            plan = await c.GetAsync(path + "/plan", ApiJson.Default.FailoverPlanView, ct);
            if (!approve && json)
            {
                Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(plan, ApiJson.Default.FailoverPlanView));
                return ExitCodes.Ok;
            }
            if (!json)
                PrintPlan(plan);
            digest = plan.Digest;
        }
        if (!approve)
            return ExitCodes.Ok;
        var reply = await c.PostReplyAsync(path + "/approve", new ApproveRequest(digest), ApiJson.Default.ApproveRequest, ApiJson.Default.FailoverPlanView, ct);
        if (json)
            Console.WriteLine(reply.Json);
        else
            Console.WriteLine(Safe($"{job}: fail-over plan {reply.Value.Digest[..12]} approved"));
        return ExitCodes.Ok;
    }

    private static void PrintPlan(FailoverPlanView p)
    {
        // Every line is the source's words: escaped before it reaches the terminal.
        Console.WriteLine(Safe($"fail-over plan of '{p.Name}' from {p.SourceName} ({p.SourceId}), now {p.State}"));
        Console.WriteLine(Safe($"digest {p.Digest}: " + (p.Approved ? $"APPROVED at {p.ApprovedAt}"
            : p.ApprovedDigest is null ? "NOT APPROVED: nothing fails over until 'understudy failover " + p.Name + " --approve'"
            : $"CHANGED since the plan approved at {p.ApprovedAt}: approve it again")));
        if (p.Changes.Count > 0)
        {
            Console.WriteLine("changed since the approved plan:");
            foreach (var line in p.Changes)
                Console.WriteLine("  " + Safe(line));
        }
        Console.WriteLine("the plan:");
        foreach (var line in p.Plan)
            Console.WriteLine("  " + Safe(line));
        Console.WriteLine("the take-over's steps:");
        foreach (var line in p.Steps)
            Console.WriteLine("  " + Safe(line));
    }

    /// <summary>Lines for `understudy status`: a hosted job's fail-over state and each watched address, each through
    /// <see cref="TerminalText.Safe"/> (the job's name and addresses are the source's).</summary>
    internal static IEnumerable<string> Describe(FailoverView f) => DescribeRaw(f).Select(Safe);

    /// <summary>One line for a job's witness (source or target side of `status`); the caller makes it terminal-safe.</summary>
    internal static string DescribeWitness(WitnessView w) =>
        $"witness {w.State}{(w.Detail is { } d ? $" ({d})" : "")}: key {w.Key} on {string.Join(", ", w.Endpoints)}, lease {w.LeaseSeconds.ToString(CultureInfo.InvariantCulture)} s, "
        + $"renewed every {w.RenewSeconds.ToString(CultureInfo.InvariantCulture)} s";

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
        if (f.Plan is { Approved: false })
            head += $", plan NOT approved (understudy failover {f.Name} --show)";
        yield return head;
        if (f.Witness is { } w)
            yield return "    " + DescribeWitness(w);
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
