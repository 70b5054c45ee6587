using System.CommandLine;
using Spectre.Console;
using Understudy.Core.Jobs;

namespace Understudy.Cli.Commands;

/// <summary>
/// `understudy job new`: builds a job file from flags, asking for what is missing when a person is
/// at the terminal, checks it with the same parser the agent uses, and writes the canonical file
/// (every key with its value, docs/job-file.md) to a file or stdout. Needs no agent.
/// </summary>
internal static class JobNewCommand
{
    private sealed record Flags(
        Option<string?> Name, Option<string[]> Source, Option<string[]> Exclude, Option<string?> TargetAddress, Option<string?> TargetId,
        Option<string?> TargetPath, Option<string?> Mode, Option<string?> Orphans, Option<string[]> Monitor, Option<string?> Trigger,
        Option<string?> FailoverMode, Option<string?> Output, Option<bool> NoPrompt);

    /// <summary>Adds `new` under the `job` verb.</summary>
    public static void AddTo(RootCommand root) =>
        root.Subcommands.First(c => c.Name == "job").Subcommands.Add(Create());

    public static Command Create()
    {
        var f = new Flags(
            new("--name") { Description = "Job name: [a-z0-9][a-z0-9._-]*" },
            new("--source") { Description = "Source directory (repeat for several)", AllowMultipleArgumentsPerToken = true },
            new("--exclude") { Description = "Exclude pattern (repeatable)", AllowMultipleArgumentsPerToken = true },
            new("--target-address") { Description = "The target agent's peer address, host[:port]" },
            new("--target-id") { Description = "The target agent's ID ('understudy id' on the target)" },
            new("--target-path") { Description = "Directory on the target" },
            new("--mode") { Description = "Mirror mode: different | checksum | full" },
            new("--orphans") { Description = "Files only on the target: keep | delete" },
            new("--monitor") { Description = "Enable fail-over: a source address the target watches (repeatable)", AllowMultipleArgumentsPerToken = true },
            new("--trigger") { Description = "Fail-over trigger: manual | automatic" },
            new("--failover-mode") { Description = "Fail-over identity mode: add | replace" },
            new("--output", "-o") { Description = "Write the job file here instead of stdout" },
            new("--no-prompt") { Description = "Never ask; fail when a required flag is missing (scripts)" });
        f.Mode.AcceptOnlyFromAmong("different", "checksum", "full");
        f.Orphans.AcceptOnlyFromAmong("keep", "delete");
        f.Trigger.AcceptOnlyFromAmong("manual", "automatic");
        f.FailoverMode.AcceptOnlyFromAmong("add", "replace");
        var cmd = new Command("new", "Create a job file step by step (or from flags), checked as the agent will check it. Needs no agent. Exit 0: written; 2: a flag is missing or wrong")
        {
            Options = { f.Name, f.Source, f.Exclude, f.TargetAddress, f.TargetId, f.TargetPath, f.Mode, f.Orphans, f.Monitor, f.Trigger, f.FailoverMode, f.Output, f.NoPrompt },
        };
        cmd.SetAction(async (r, ct) =>
        {
            try
            {
                return await RunAsync(r, f, ct);
            }
            catch (CliException e)
            {
                Console.Error.WriteLine($"understudy: {e.Message}");
                return e.ExitCode;
            }
        });
        return cmd;
    }

    private static async Task<int> RunAsync(ParseResult r, Flags f, CancellationToken ct)
    {
        var output = r.GetValue(f.Output);
        // Prompts go to the terminal; with stdout as the file, only an interactive stdin can answer them.
        bool ask = !r.GetValue(f.NoPrompt) && !Console.IsInputRedirected && (output is not null || !Console.IsOutputRedirected);
        var prompt = new JobPrompter(ask);
        var draft = new JobDraft
        {
            Name = prompt.Text("Job name", r.GetValue(f.Name), "--name", v => JobDraft.NameOk(v) ? null : "lowercase letters, digits, '.', '_', '-'"),
            Sources = prompt.List("Source directory", r.GetValue(f.Source), "--source", required: true),
            Excludes = prompt.List("Exclude pattern", r.GetValue(f.Exclude), null, required: false, onlyIfAsked: r.GetValue(f.Source)?.Length > 0),
            TargetAddress = prompt.Text("Target agent peer address (host[:port])", r.GetValue(f.TargetAddress), "--target-address", _ => null),
            TargetId = prompt.Text("Target agent ID ('understudy id' on the target)", r.GetValue(f.TargetId), "--target-id", v => JobDraft.IdOk(v) ? null : "64 hex digits"),
            TargetPath = prompt.Text("Target directory", r.GetValue(f.TargetPath), "--target-path", v => v.StartsWith('/') ? null : "an absolute path"),
            Mode = prompt.Choice("Mirror mode", r.GetValue(f.Mode), ["different", "checksum", "full"]),
            Orphans = prompt.Choice("Files only on the target", r.GetValue(f.Orphans), ["keep", "delete"]),
        };
        var monitor = r.GetValue(f.Monitor) ?? [];
        if (monitor.Length == 0 && ask && prompt.Confirm("Set up fail-over (the target watches the source)?"))
            monitor = prompt.List("Source address to watch", null, null, required: true);
        if (monitor.Length > 0)
        {
            draft = draft with
            {
                Monitor = monitor,
                Trigger = prompt.Choice("Fail-over trigger", r.GetValue(f.Trigger), ["manual", "automatic"]),
                FailoverMode = prompt.Choice("Identity mode", r.GetValue(f.FailoverMode), ["add", "replace"]),
            };
        }
        prompt.ThrowIfMissing();
        JobSpec spec;
        try
        {
            spec = JobFile.Parse(draft.ToYaml(), "job new");
        }
        catch (JobFileException e)
        {
            throw new CliException(e.Message);
        }
        var yaml = JobFile.ToYaml(spec);
        if (output is null)
        {
            Console.Out.Write(yaml);
            return ExitCodes.Ok;
        }
        await File.WriteAllTextAsync(output, yaml, ct);
        Console.Error.WriteLine($"wrote {output}; apply it on the source agent with: understudy job apply {output}");
        return ExitCodes.Ok;
    }
}
