using System.CommandLine;
using System.Text.Json.Nodes;

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
            var res = await c.PostAsync("api/v1/jobs", new JsonObject { ["yaml"] = yaml, ["fileName"] = path }, ct);
            Console.WriteLine($"job '{res["name"]}' applied; mirror started (follow it with: understudy status {res["name"]} --watch)");
            return ExitCodes.Ok;
        }));

        var json = new Option<bool>("--json") { Description = "JSON output" };
        var list = new Command("list", "List jobs this agent is source of") { Options = { json } };
        list.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            var res = await c.GetAsync("api/v1/jobs", ct);
            if (r.GetValue(json))
            {
                Console.WriteLine(res.ToJsonString());
                return ExitCodes.Ok;
            }
            foreach (var j in res.AsArray())
                Console.WriteLine($"{j!["name"],-24} {j["state"],-20} → {j["target"]}:{j["targetPath"]}");
            return ExitCodes.Ok;
        }));

        var name = new Argument<string>("name") { Description = "Job name" };
        var show = new Command("show", "Show a job's file and status") { Arguments = { name } };
        show.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            var res = await c.GetAsync($"api/v1/jobs/{Uri.EscapeDataString(r.GetValue(name)!)}", ct);
            Console.Write(res["yaml"]!.GetValue<string>());
            Console.WriteLine($"# state: {res["status"]!["state"]}{(res["status"]!["reason"] is { } reason ? " (" + reason + ")" : "")}");
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
            var res = await c.PostAsync($"api/v1/jobs/{Uri.EscapeDataString(r.GetValue(name)!)}/mirror", new JsonObject { ["mode"] = r.GetValue(mode) }, ct);
            Console.WriteLine($"{res["mode"]} mirror of '{res["name"]}' started");
            // The job is `mirroring` from the moment the POST returns, so the wait cannot see the previous mirror's end.
            return r.GetValue(wait)
                ? await StatusCommands.WaitForAsync(c, r.GetValue(name)!, untilIdle: false, r.GetValue(timeout), res["changes"]?.GetValue<long>(), ct)
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
            var res = await c.PostAsync($"api/v1/jobs/{Uri.EscapeDataString(r.GetValue(name)!)}/verify",
                new JsonObject { ["checksum"] = r.GetValue(checksum), ["repair"] = r.GetValue(repair) }, ct);
            var diffs = res["differences"]!.AsArray();
            if (r.GetValue(json))
                Console.WriteLine(res.ToJsonString());
            else
            {
                // One line per path and kind of difference, the kind first: `grep '^xattrs '` picks one kind.
                foreach (var d in diffs)
                    Console.WriteLine($"{d!["kind"],-8} {d["path"]}  ({d["detail"]})");
                Console.WriteLine(diffs.Count == 0
                    ? $"identical: {res["entriesChecked"]} entries checked{(r.GetValue(checksum) ? " by content" : "")}"
                    : $"{diffs.Count} differences{(res["repaired"]?.GetValue<bool>() == true ? " remain after repair" : "")}");
            }
            return diffs.Count == 0 ? ExitCodes.Ok : ExitCodes.Failed;
        }));
        return cmd;
    }

    internal static JsonNode? FindJob(JsonNode status, string name) =>
        status["jobs"]!.AsArray().FirstOrDefault(j => j!["name"]!.GetValue<string>() == name);
}
