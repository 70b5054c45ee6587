using System.Diagnostics;
using System.Text;

namespace Understudy.Agent.Identity;

/// <summary>The outcome of one external command. <see cref="Output"/> holds stdout and stderr interleaved, capped.</summary>
internal sealed record CommandResult(int ExitCode, string Output, bool TimedOut)
{
    public bool Ok => ExitCode == 0 && !TimedOut;

    public string Describe() => TimedOut ? "timed out" : $"exit {ExitCode}";

    /// <summary>Starts <paramref name="psi"/>; a program that cannot be run gives the shell's exit 127 with the reason
    /// (<paramref name="cannotRun"/>) instead of an exception. Both runners (commands, operators' scripts) start this way.</summary>
    public static bool TryStart(ProcessStartInfo psi, string file, out Process process, out CommandResult cannotRun)
    {
        cannotRun = null!;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
            return true;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            process = null!;
            cannotRun = new CommandResult(127, $"cannot run {file}: {e.Message}", false);
            return false;
        }
    }
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
    public const int MaxOutput = 64 * 1024;

    public static readonly ProcessCommandRunner Instance = new();

    public async Task<CommandResult> RunAsync(string file, IReadOnlyList<string> args, CommandOptions options, CancellationToken ct)
    {
        if (options.Script)
            return await ScriptProcess.RunAsync(file, args, options, ct);
        var psi = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        if (options.Environment is { } env)
        {
            foreach (var (k, v) in env)
                psi.Environment[k] = v;
        }
        var output = new StringBuilder();
        void Append(string? line)
        {
            if (line is null)
                return;
            lock (output)
            {
                if (output.Length < MaxOutput)
                    output.AppendLine(line);
            }
        }
        if (!CommandResult.TryStart(psi, file, out var process, out var cannotRun))
            return cannotRun;
        using (process)
        {
            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.ErrorDataReceived += (_, e) => Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            process.StandardInput.Close();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(options.Timeout);
            bool timedOut = false;
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
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
            string text;
            lock (output)
                text = output.ToString().TrimEnd();
            return new CommandResult(timedOut ? -1 : process.ExitCode, text, timedOut);
        }
    }
}
