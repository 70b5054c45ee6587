using System.CommandLine;
using Understudy.Core.Api;
using static Understudy.Cli.TerminalText;

namespace Understudy.Cli.Commands;

/// <summary>Job controls: stop, start, pause, resume, and `job set` for settings changed while a job runs.</summary>
internal static class ReplicationCommands
{
    public static Command Pause() => Control("pause",
        "Stop sending a job's changes: they keep being captured into the durable queue on the source (a running mirror finishes). "
        + "Survives an agent restart. 'understudy resume NAME' continues. Exit 0: paused; 2: no such job, the job is stopped, or the agent refused");

    public static Command Resume() => Control("resume",
        "Resume sending a paused job's changes, oldest first. Exit 0: resumed; 2: no such job, the job is stopped, or the agent refused");

    public static Command Stop() => Control("stop",
        "Stop a job on this (source) agent: its mirror, replication and change capture end and its link to the target closes; "
        + "the queue, the state and the target's copy are kept. It stays stopped, also across agent restarts, until "
        + "'understudy start NAME'. Exit 0: stopped; 2: no such job or the agent refused");

    public static Command Start() => Control("start",
        "Start a stopped job: a difference mirror finds what changed while it was stopped (the first mirror if it never completed), "
        + "then replication resumes. Exit 0: started (follow it with 'understudy wait NAME --until idle'); 2: no such job or the agent refused");

    /// <summary>A job control: POST /api/v1/jobs/NAME/VERB, then the state it left the job in.</summary>
    private static Command Control(string verb, string description)
    {
        var name = new Argument<string>("name") { Description = "The job (run this against its source agent)" };
        var cmd = new Command(verb, description) { Arguments = { name } };
        cmd.SetAction(GlobalOptions.Run(async (r, c, ct) =>
        {
            var res = await c.PostAsync($"api/v1/jobs/{Uri.EscapeDataString(r.GetValue(name)!)}/{verb}", ApiJson.Default.JobControlReply, ct);
            Console.WriteLine(Safe($"{res.Name}: {res.State.Name()}" + (res.Reason is { } reason ? $" ({reason})" : "")));
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
                new ReplicationSettingsRequest(r.GetValue(bandwidth), r.GetValue(compression)), ApiJson.Default.ReplicationSettingsRequest,
                ApiJson.Default.ReplicationSettingsReply, ct);
            long bw = res.Bandwidth;
            Console.WriteLine($"{res.Name}: bandwidth {(bw == 0 ? "unlimited" : StatusCommands.Bytes(bw) + "/s")}, compression {res.Compression}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
