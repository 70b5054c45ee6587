using System.CommandLine;

namespace Understudy.Cli.Commands;

/// <summary>
/// `understudy job check FILE…`: the agent's own parser and checks, run locally, so a job file can be
/// linted before it is applied (in an editor hook or CI). Needs no agent.
/// </summary>
internal static partial class JobCheckCommand
{
    public static void AddTo(RootCommand root) =>
        root.Subcommands.First(c => c.Name == "job").Subcommands.Add(Create());

    public static Command Create()
    {
        var files = new Argument<string[]>("file") { Description = "Job files to check", Arity = ArgumentArity.OneOrMore };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print only errors" };
        var cmd = new Command("check", "Check job files as the agent will, without applying them. Needs no agent. Exit 0: every file is valid; 2: a file is wrong (file:line:column: key: reason) or unreadable")
        {
            Arguments = { files },
            Options = { quiet },
        };
        cmd.SetAction(Run(files, quiet));
        return cmd;
    }

    /// <summary>The verb's action: the managed program runs the agent's parser (JobFile); the native client hands the command
    /// line to the managed program.</summary>
    private static partial Func<ParseResult, CancellationToken, Task<int>> Run(Argument<string[]> files, Option<bool> quiet);
}
