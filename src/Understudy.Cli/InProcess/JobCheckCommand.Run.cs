using System.CommandLine;
using Understudy.Core.Jobs;

namespace Understudy.Cli.Commands;

// `job check` itself: the managed program only (Commands/JobCheckCommand.cs defines the verb).
internal static partial class JobCheckCommand
{
    private static partial Func<ParseResult, CancellationToken, Task<int>> Run(Argument<string[]> files, Option<bool> quiet) => async (r, ct) =>
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
    };
}
