using System.Diagnostics;
using System.Text;

namespace Understudy.Agent.Identity;

/// <summary>
/// What both runners (<see cref="ProcessCommandRunner"/> for commands, <see cref="ScriptProcess"/> for operators' scripts)
/// do alike with a child process: start it without a shell, its three streams redirected (a program that cannot be run
/// is the shell's exit 127, not an exception), keep what it prints (<see cref="CapturedOutput"/>) and wait for its exit
/// within the time limit. What happens when the limit passes differs (the process tree goes at once; a script's process
/// group gets a grace period), so that stays with each runner.
/// </summary>
internal static class ChildProcess
{
    /// <summary>Characters of output kept; the rest is dropped.</summary>
    public const int MaxOutput = 64 * 1024;

    /// <summary><paramref name="program"/> with <paramref name="args"/>, no shell, stdin, stdout and stderr redirected.</summary>
    public static ProcessStartInfo StartInfo(string program, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        return psi;
    }

    /// <summary>Sets the extra variables of <see cref="CommandOptions.Environment"/> (null: none), over what is there.</summary>
    public static void AddEnvironment(ProcessStartInfo psi, IReadOnlyDictionary<string, string>? environment)
    {
        if (environment is null)
            return;
        foreach (var (k, v) in environment)
            psi.Environment[k] = v;
    }

    /// <summary>Starts <paramref name="psi"/>; a program that cannot be run gives the shell's exit 127 with the reason
    /// (<paramref name="cannotRun"/>) instead of an exception.</summary>
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

    /// <summary>True when the process exited within <paramref name="timeout"/>; false when the timeout or
    /// <paramref name="ct"/> ended the wait first (the process may still run: the caller ends it).</summary>
    public static async Task<bool> ExitedWithinAsync(Process process, TimeSpan timeout, CancellationToken ct)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}

/// <summary>A child's stdout and stderr interleaved line by line as they arrive (from both streams' readers at once),
/// at most <see cref="ChildProcess.MaxOutput"/> characters.</summary>
internal sealed class CapturedOutput
{
    private readonly StringBuilder _text = new();

    public void Append(string? line)
    {
        if (line is null)
            return;
        lock (_text)
        {
            if (_text.Length < ChildProcess.MaxOutput)
                _text.AppendLine(line);
        }
    }

    public string Text()
    {
        lock (_text)
            return _text.ToString().TrimEnd();
    }
}
