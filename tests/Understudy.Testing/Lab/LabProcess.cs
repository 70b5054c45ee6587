using System.Diagnostics;
using System.Text;
using Understudy.Testing;

namespace Understudy.Testing.Lab;

/// <summary>
/// A daemon started inside a host's namespace. `ip netns exec` execs the program in place, so
/// <see cref="Pid"/> is the daemon's own PID and it can be stopped by PID (no systemd here).
/// </summary>
public sealed class LabProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private LabProcess(Process process, string what)
    {
        _process = process;
        What = what;
    }

    public string What { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Log
    {
        get
        {
            lock (_log)
                return _log.ToString();
        }
    }

    public static LabProcess Start(LabHost host, IReadOnlyList<string> argv, string? workingDir = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        // `ip netns exec` passes its environment on: how a lab agent learns its own smb.conf and include dirs.
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
            psi.Environment[k] = v;
        // setsid: each daemon gets its own session and process group. smbd, for one, signals its
        // whole process group when it stops; sharing ours, it killed the test host and its runner.
        // (setsid does not fork here, since the child is no group leader: Pid stays the daemon's.)
        foreach (var a in new[] { "netns", "exec", host.Namespace, "setsid" }.Concat(argv))
            psi.ArgumentList.Add(a);
        if (workingDir is not null)
            psi.WorkingDirectory = workingDir;
        var p = Process.Start(psi) ?? throw new LabException($"cannot start {argv[0]} in {host.Name}");
        var lp = new LabProcess(p, $"{argv[0]}@{host.Name}");
        p.OutputDataReceived += (_, e) => lp.Append(e.Data);
        p.ErrorDataReceived += (_, e) => lp.Append(e.Data);
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        // stdin stays an open pipe: smbd in the foreground exits at EOF on stdin, which also
        // means it goes when the test host dies, even by SIGKILL.
        return lp;
    }

    /// <summary>SIGTERM, then SIGKILL when it does not go within <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan? grace = null)
    {
        if (_process.HasExited)
            return;
        _ = Native.Kill(_process.Id, 15);
        try
        {
            await _process.WaitForExitAsync().WaitAsync(grace ?? TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            Kill();
        }
    }

    /// <summary>SIGKILL: the way a crash looks to everyone else.</summary>
    public void Kill()
    {
        if (_process.HasExited)
            return;
        _ = Native.Kill(_process.Id, 9);
        _process.WaitForExit(10_000);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_log)
        {
            // Keep the tail only: a chatty daemon must not grow the test host without bound.
            if (_log.Length > 256 * 1024)
                _log.Remove(0, _log.Length / 2);
            _log.AppendLine(line);
        }
    }
}
