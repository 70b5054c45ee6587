using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Understudy.Agent.Identity;

/// <summary>
/// Runs an operator's script (<see cref="CommandOptions.Script"/>) so that what it starts cannot hold up or outlive
/// its step:
/// <list type="bullet">
/// <item>In a session and process group of its own, through setsid(1) (util-linux, on every systemd distribution).
/// .NET's Process cannot ask for setsid() in the child, and posix_spawn with POSIX_SPAWN_SETSID through P/Invoke
/// would give up what Process does for us (pipes, reaping through the runtime's SIGCHLD handling, exit code). setsid
/// execs the script in place when its caller is not a group leader, which a child .NET forks never is, so the pid
/// Process waits on is the script's, and it is the session and process group id too: kill(-pid) reaches everything
/// the script started that did not leave the group itself.</item>
/// <item>Its exit is awaited, not the end of its output: a background child keeps the output pipe open, and
/// waiting for that made a `sleep 20 &` take 20 s and count as timed out. Output still arriving after the exit is
/// read for <see cref="Drain"/> at most.</item>
/// <item>At the timeout (and on shutdown) the whole group is ended (SIGTERM, then SIGKILL after <see cref="KillGrace"/>).
/// After a normal exit the group is left alone, as a shell leaves a background job: ending it then raced with the
/// documented `setsid COMMAND &`, whose child may not have left the group yet when the script has already exited
/// (seen on a loaded machine: the daemon was killed), and a killed service on the day of a fail-over is worse than
/// a leftover sleep. A script that must leave a daemon running still starts it with systemd-run or setsid
/// (docs/job-file.md), so that a timeout does not take it too.</item>
/// <item>A minimal environment: <see cref="SearchPath"/> and the UNDERSTUDY_* variables the job file documents, not
/// the agent's (which carries the service manager's and the agent's own settings, nothing a script should depend on).</item>
/// </list>
/// </summary>
internal static partial class ScriptProcess
{
    /// <summary>systemd's default PATH for services.</summary>
    public const string SearchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    public static readonly TimeSpan KillGrace = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan Drain = TimeSpan.FromSeconds(2);

    private const int SIGTERM = 15;
    private const int SIGKILL = 9;

    private static readonly string[] SetsidPaths = ["/usr/bin/setsid", "/bin/setsid"];

    public static async Task<CommandResult> RunAsync(string file, IReadOnlyList<string> args, CommandOptions options, CancellationToken ct)
    {
        var setsid = SetsidPaths.FirstOrDefault(File.Exists);
        if (setsid is null)
            return new CommandResult(127, $"cannot run {file}: setsid(1) (util-linux) is not installed", false);
        var psi = ChildProcess.StartInfo(setsid, [file, .. args]);
        psi.Environment.Clear();
        psi.Environment["PATH"] = SearchPath;
        ChildProcess.AddEnvironment(psi, options.Environment);
        if (!ChildProcess.TryStart(psi, file, out var process, out var cannotRun))
            return cannotRun;
        using (process)
        {
            int group = process.Id;
            process.StandardInput.Close();
            var output = new CapturedOutput();
            using var drain = new CancellationTokenSource();
            // Read by hand, not BeginOutputReadLine: with those, WaitForExitAsync also waits for the end of output.
            var readers = Task.WhenAll(ReadAsync(process.StandardOutput, output, drain.Token), ReadAsync(process.StandardError, output, drain.Token));
            bool timedOut = !await ChildProcess.ExitedWithinAsync(process, options.Timeout, ct) && !ct.IsCancellationRequested;
            // On the timeout and on shutdown the group goes; after a normal exit it is left as it is (above).
            if (timedOut || ct.IsCancellationRequested || !process.HasExited)
                await EndGroupAsync(process, group);
            try
            {
                await readers.WaitAsync(Drain, CancellationToken.None);
            }
            catch (TimeoutException)
            {
                // Something outside the group (a daemon started with setsid) still holds the output: stop reading it.
                await drain.CancelAsync();
                try
                {
                    await readers;
                }
                catch (OperationCanceledException)
                {
                }
            }
            ct.ThrowIfCancellationRequested();
            return new CommandResult(timedOut ? -1 : process.ExitCode, output.Text(), timedOut);
        }
    }

    private static async Task ReadAsync(StreamReader reader, CapturedOutput output, CancellationToken ct)
    {
        while (await reader.ReadLineAsync(ct) is { } line)
            output.Append(line);
    }

    /// <summary>SIGTERM to the process group, SIGKILL to what is left of it after <see cref="KillGrace"/>; returns once the
    /// script itself has exited (what else of the group is left then is killed and reaped by init).</summary>
    private static async Task EndGroupAsync(Process script, int group)
    {
        if (Kill(-group, 0) != 0)
            return;
        _ = Kill(-group, SIGTERM);
        var deadline = Stopwatch.GetTimestamp() + (long)(KillGrace.TotalSeconds * Stopwatch.Frequency);
        // Polled: a process group has no handle to wait on. A group of zombies (not yet reaped by init) still answers
        // Kill(0); it costs the grace period, never more.
        while (Kill(-group, 0) == 0 && Stopwatch.GetTimestamp() < deadline)
            await Task.Delay(50, CancellationToken.None);
        if (Kill(-group, 0) == 0)
            _ = Kill(-group, SIGKILL);
        await script.WaitForExitAsync(CancellationToken.None);
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
