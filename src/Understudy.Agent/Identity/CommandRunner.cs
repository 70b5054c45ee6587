namespace Understudy.Agent.Identity;

/// <summary>The outcome of one external command. <see cref="Output"/> holds stdout and stderr interleaved, capped.</summary>
internal sealed record CommandResult(int ExitCode, string Output, bool TimedOut)
{
    public bool Ok => ExitCode == 0 && !TimedOut;

    public string Describe() => TimedOut ? "timed out" : $"exit {ExitCode}";
}

/// <summary>How to run a command: time limit and extra environment. <paramref name="Script"/>: an operator's script, run
/// in its own session with a minimal environment and its process group ended with it (<see cref="ScriptProcess"/>).</summary>
internal sealed record CommandOptions(TimeSpan Timeout, IReadOnlyDictionary<string, string>? Environment = null, bool Script = false)
{
    public static readonly CommandOptions Default = new(TimeSpan.FromSeconds(30));
}

/// <summary>
/// The seam between identity providers and the OS: every `ip`, `smbcontrol`, `hostname`, `ping -6` and script runs
/// through it, so tests check the exact argument lists with a fake and the lab runs the real thing.
/// </summary>
internal interface ICommandRunner
{
    /// <summary>Runs <paramref name="file"/> without a shell. A missing executable is exit code 127, not an exception.</summary>
    Task<CommandResult> RunAsync(string file, IReadOnlyList<string> args, CommandOptions options, CancellationToken ct);
}

internal sealed class ProcessCommandRunner : ICommandRunner
{
    public static readonly ProcessCommandRunner Instance = new();

    public async Task<CommandResult> RunAsync(string file, IReadOnlyList<string> args, CommandOptions options, CancellationToken ct)
    {
        if (options.Script)
            return await ScriptProcess.RunAsync(file, args, options, ct);
        var psi = ChildProcess.StartInfo(file, args);
        ChildProcess.AddEnvironment(psi, options.Environment);
        var output = new CapturedOutput();
        if (!ChildProcess.TryStart(psi, file, out var process, out var cannotRun))
            return cannotRun;
        using (process)
        {
            process.OutputDataReceived += (_, e) => output.Append(e.Data);
            process.ErrorDataReceived += (_, e) => output.Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            process.StandardInput.Close();
            bool timedOut = false;
            if (!await ChildProcess.ExitedWithinAsync(process, options.Timeout, ct))
            {
                // The process tree goes either way: on our timeout and on shutdown.
                try
                {
                    process.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                }
                await process.WaitForExitAsync(CancellationToken.None);
                ct.ThrowIfCancellationRequested();
                timedOut = true;
            }
            // WaitForExitAsync returns after the redirected streams reached EOF, so the output is complete.
            return new CommandResult(timedOut ? -1 : process.ExitCode, output.Text(), timedOut);
        }
    }
}
