using System.CommandLine;

namespace Understudy.Cli.Commands;

/// <summary>
/// A local demo pair: starts a source and a target agent on loopback as real processes, trusts
/// them to each other, mirrors a generated sample tree with a live progress bar and verifies it,
/// replicates live changes, then stops the source and watches the target take over; a client's write on the
/// target then goes home through a restore and a fail-back to the restarted, passive source
/// (InProcess/DemoCommand.Run.cs and DemoCommand.Stages.cs: the managed program only).
/// </summary>
internal static partial class DemoCommand
{
    internal sealed record DemoFlags(Option<string> Dir, Option<int> Files, Option<bool> Keep);

    public static Command Create()
    {
        var f = new DemoFlags(
            new Option<string>("--dir") { Description = "Where the demo keeps its agents and data", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "understudy-demo") },
            new Option<int>("--files") { Description = "How many sample files to generate", DefaultValueFactory = _ => 3000 },
            new Option<bool>("--keep") { Description = "Leave the agents running (stop them with Ctrl+C)" });
        var cmd = new Command("demo", "Run a local source + target agent pair on loopback: mirror a sample tree, verify it, replicate live changes, stop the source and watch the target fail over, then restore and fail back. Exit 0: every stage passed; 1: a stage failed (the message says which); 2: error") { Options = { f.Dir, f.Files, f.Keep } };
        cmd.SetAction(Run(f));
        return cmd;
    }

    /// <summary>The verb's action: the managed program runs the demo; the native client hands the command line to the managed program.</summary>
    private static partial Func<ParseResult, CancellationToken, Task<int>> Run(DemoFlags f);
}
