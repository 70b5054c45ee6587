using System.CommandLine;
using Understudy.Core.Jobs;

namespace Understudy.Cli.Commands;

/// <summary>
/// `understudy job check FILE…`: the agent's own parser and checks, run locally, so a job file can be
/// linted before it is applied (in an editor hook or CI). Needs no agent.
/// </summary>
internal static class JobCheckCommand
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
        cmd.SetAction(async (r, ct) =>
        {
            int status = ExitCodes.Ok;
            foreach (var path in r.GetValue(files)!)
            {
                try
                {
                    var spec = JobFile.Parse(await File.ReadAllTextAsync(path, ct), path);
                    if (!r.GetValue(quiet))
                        Console.WriteLine($"{path}: job '{spec.Name}' is valid ({spec.Source.Paths.Count} source path{(spec.Source.Paths.Count == 1 ? "" : "s")} → {spec.Target.Path} on {spec.Target.Address}{(spec.Failover is null ? "" : ", with fail-over")})");
                }
                catch (JobFileException e)
                {
                    Console.Error.WriteLine(e.Message);
                    status = ExitCodes.Error;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Console.Error.WriteLine($"{path}: cannot read: {e.Message}");
                    status = ExitCodes.Error;
                }
            }
            return status;
        });
        return cmd;
    }
}
