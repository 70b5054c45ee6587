using System.CommandLine;
using Understudy.Core.Jobs;

namespace Understudy.Cli.Commands;

// `job new` itself: the managed program only (Commands/JobNewCommand.cs defines the verb).
internal static partial class JobNewCommand
{
    private static partial Func<ParseResult, CancellationToken, Task<int>> Run(Flags f) => async (r, ct) =>
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
    };

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
