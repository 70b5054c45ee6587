using System.CommandLine;
using Understudy.Core.Api;
using static Understudy.Cli.TerminalText;

namespace Understudy.Cli.Commands;

internal static class JobCommands
{
    public static Command Job()
    {
        var file = new Argument<string>("file") { Description = "The job file (YAML); see docs/job-file.md" };
        var apply = new Command("apply", "Apply a job file to this (source) agent: registers it with the target and starts the mirror") { Arguments = { file } };
        apply.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            var path = r.GetValue(file)!;
            string yaml;
            try
            {
                yaml = await File.ReadAllTextAsync(path, ct);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"cannot read {path}: {e.Message}");
            }
            var res = await c.PostAsync("api/v1/jobs", new ApplyRequest(yaml, path), ApiJson.Default.ApplyRequest, ApiJson.Default.JobNameReply, ct);
            Console.WriteLine(Safe($"job '{res.Name}' applied; mirror started (follow it with: understudy status {res.Name} --watch)"));
            return ExitCodes.Ok;
        }));

        var json = new Option<bool>("--json") { Description = "JSON output" };
        var list = new Command("list", "List jobs this agent is source of") { Options = { json } };
        list.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            var res = await c.GetReplyAsync("api/v1/jobs", ApiJson.Default.JobStatusViewArray, ct);
            if (r.GetValue(json))
            {
                Console.WriteLine(res.Json);
                return ExitCodes.Ok;
            }
            foreach (var j in res.Value)
                Console.WriteLine($"{Safe(j.Name),-24} {j.State.Name(),-20} → {Safe(j.Target)}:{Safe(j.TargetPath)}");
            return ExitCodes.Ok;
        }));

        var name = new Argument<string>("name") { Description = "Job name" };
        var show = new Command("show", "Show a job's file and status") { Arguments = { name } };
        show.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            var res = await c.GetAsync($"api/v1/jobs/{Uri.EscapeDataString(r.GetValue(name)!)}", ApiJson.Default.JobDetail, ct);
            Console.Write(res.Yaml);
            Console.WriteLine(Safe($"# state: {res.Status.State.Name()}{(res.Status.Reason is { } reason ? " (" + reason + ")" : "")}"));
            return ExitCodes.Ok;
        }));

        var rname = new Argument<string>("name") { Description = "Job name" };
        var remove = new Command("remove", "Stop and forget a job (no data is deleted on either side)") { Arguments = { rname } };
        remove.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            await c.DeleteAsync($"api/v1/jobs/{Uri.EscapeDataString(r.GetValue(rname)!)}", ct);
            Console.WriteLine("removed (data left in place)");
            return ExitCodes.Ok;
        }));
        return new Command("job", "Manage protection jobs") { Subcommands = { apply, list, show, remove, ReplicationCommands.JobSet() } };
    }

    public static Command Mirror()
    {
        var name = new Argument<string>("name") { Description = "Job name" };
        var mode = new Option<string?>("--mode") { Description = "full | different | checksum (default: the job's mirror.mode)" };
        mode.AcceptOnlyFromAmong("full", "different", "checksum");
        var wait = new Option<bool>("--wait") { Description = "Return when the mirror is complete and durable on the target (as 'wait NAME --until mirrored')" };
        var timeout = new Option<double?>("--timeout") { Description = "With --wait: give up after SECONDS (exit 3)" };
        var cmd = new Command("mirror", "Start a mirror of a job now; returns at once (follow it with 'understudy status NAME --watch' or 'understudy wait NAME'), or with --wait when it is complete. Exit 0: started (with --wait: complete); 1: with --wait, the mirror failed; 2: no such job, the job is stopped, or unreachable agent; 3: --wait timed out") { Arguments = { name }, Options = { mode, wait, timeout } };
        cmd.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            var res = await c.PostAsync($"api/v1/jobs/{Uri.EscapeDataString(r.GetValue(name)!)}/mirror", new MirrorRequest(r.GetValue(mode)),
                ApiJson.Default.MirrorRequest, ApiJson.Default.MirrorStarted, ct);
            Console.WriteLine(Safe($"{res.Mode} mirror of '{res.Name}' started"));
            // The job is `mirroring` from the moment the POST returns, so the wait cannot see the previous mirror's end.
            return r.GetValue(wait)
                ? await StatusCommands.WaitForAsync(c, r.GetValue(name)!, untilIdle: false, r.GetValue(timeout), res.Changes, ct)
                : ExitCodes.Ok;
        }));
        return cmd;
    }

    public static Command Verify()
    {
        var name = new Argument<string>("name") { Description = "Job name" };
        var checksum = new Option<bool>("--checksum") { Description = "Compare content too (XxHash128 of every file on both sides), not only size and metadata" };
        var repair = new Option<bool>("--repair") { Description = "Re-send what differs (a mirror that compares all the verify compares), then verify again" };
        var json = new Option<bool>("--json") { Description = "JSON output" };
        var cmd = new Command("verify", "Compare source and target: type, size, content (--checksum), symlink target, mode, owner, mtime, xattrs, hard links, holes; lists each difference as kind (missing, extra, type, size, content, symlink, mode, owner, mtime, xattrs, links, holes), path and detail. Exit 0: identical; 1: differences; 2: error (no such job, the job is stopped, unreachable agent)")
        {
            Arguments = { name },
            Options = { checksum, repair, json },
        };
        cmd.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            var reply = await c.PostReplyAsync($"api/v1/jobs/{Uri.EscapeDataString(r.GetValue(name)!)}/verify",
                new VerifyRequest(r.GetValue(checksum), r.GetValue(repair)), ApiJson.Default.VerifyRequest, ApiJson.Default.VerifyReport, ct);
            var res = reply.Value;
            var diffs = res.Differences;
            if (r.GetValue(json))
                Console.WriteLine(reply.Json);
            else
            {
                // One line per path and kind of difference, the kind first: `grep '^xattrs '` picks one kind.
                foreach (var d in diffs)
                    Console.WriteLine(Safe($"{d.Kind,-8} {d.Path}  ({d.Detail})"));
                Console.WriteLine(diffs.Count == 0
                    ? $"identical: {res.EntriesChecked} entries checked{(r.GetValue(checksum) ? " by content" : "")}"
                    : $"{diffs.Count} differences{(res.Repaired ? " remain after repair" : "")}");
            }
            return diffs.Count == 0 ? ExitCodes.Ok : ExitCodes.Failed;
        }));
        return cmd;
    }

    internal static JobStatusView? FindJob(StatusReply status, string name) => status.Jobs.FirstOrDefault(j => j.Name == name);
}
