using System.CommandLine;

namespace Understudy.Cli.Commands;

/// <summary>
/// `understudy job new`: builds a job file from flags, asking for what is missing when a person is
/// at the terminal, checks it with the same parser the agent uses, and writes the canonical file
/// (every key with its value, docs/job-file.md) to a file or stdout. Needs no agent.
/// </summary>
internal static partial class JobNewCommand
{
    internal sealed record Flags(
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
        cmd.SetAction(Run(f));
        return cmd;
    }

    /// <summary>The verb's action: the managed program builds the file (JobFile's parser, Spectre.Console's prompts); the native
    /// client hands the command line to the managed program.</summary>
    private static partial Func<ParseResult, CancellationToken, Task<int>> Run(Flags f);
}
