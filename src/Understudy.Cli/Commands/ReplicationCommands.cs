using System.CommandLine;

namespace Understudy.Cli.Commands;

/// <summary>Replication controls: pause, resume, and `job set` for settings changed while a job runs.</summary>
internal static class ReplicationCommands
{
    public static Command Pause() => Toggle("pause", "Stop sending changes of a job (they keep being queued on the source)");

    public static Command Resume() => Toggle("resume", "Resume sending a paused job's changes");

    private static Command Toggle(string verb, string description)
    {
        var name = new Argument<string>("name") { Description = "Job name" };
        var cmd = new Command(verb, description) { Arguments = { name } };
        cmd.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            var res = await c.PostAsync($"api/v1/jobs/{Uri.EscapeDataString(r.GetValue(name)!)}/{verb}", new { }, ct);
            Console.WriteLine($"{res["name"]}: {res["state"]}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    public static Command JobSet()
    {
        var name = new Argument<string>("name") { Description = "Job name" };
        var bandwidth = new Option<string?>("--bandwidth") { Description = "Bytes per second, e.g. 10MiB; 0 = unlimited" };
        var compression = new Option<string?>("--compression") { Description = "none | lz4 | zstd" };
        compression.AcceptOnlyFromAmong("none", "lz4", "zstd");
        var cmd = new Command("set", "Change a running job's bandwidth limit or compression (no restart; until the job is re-applied or the agent restarts)")
        {
            Arguments = { name },
            Options = { bandwidth, compression },
        };
        cmd.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            if (r.GetValue(bandwidth) is null && r.GetValue(compression) is null)
                throw new CliException("nothing to set: give --bandwidth and/or --compression");
            var res = await c.PostAsync($"api/v1/jobs/{Uri.EscapeDataString(r.GetValue(name)!)}/replication",
                new { bandwidth = r.GetValue(bandwidth), compression = r.GetValue(compression) }, ct);
            long bw = (long)res["bandwidth"]!;
            Console.WriteLine($"{res["name"]}: bandwidth {(bw == 0 ? "unlimited" : StatusCommands.Bytes(bw) + "/s")}, compression {res["compression"]}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
