using Understudy.Agent.Common;

namespace Understudy.Agent.Hosting;

/// <summary>
/// systemd's watchdog (<c>WatchdogSec=</c> in deploy/understudy-agent.service): while the service manager asks for it
/// (<c>WATCHDOG_USEC</c>, for this process by <c>WATCHDOG_PID</c> when set), <c>WATCHDOG=1</c> every half interval —
/// only while every supervised loop runs (<see cref="LoopSupervisor.Down"/> empty). While one is down, the ping is left
/// out and STATUS says which; the supervisor restarts the loop in at most 30 s (its longest back-off), well inside the
/// unit's interval, so only a loop that keeps failing, or a process too wedged to run this timer, gets the agent
/// restarted by systemd.
/// </summary>
internal sealed class AgentWatchdog : IAsyncDisposable
{
    public const string IntervalVariable = "WATCHDOG_USEC";
    public const string PidVariable = "WATCHDOG_PID";

    private readonly SdNotify _notify;
    private readonly LoopSupervisor _loops;
    private readonly PeriodicTimer _timer;
    private readonly Task _pinging;
    private string? _downSaid;

    private AgentWatchdog(SdNotify notify, LoopSupervisor loops, TimeSpan every, TimeProvider time)
    {
        _notify = notify;
        _loops = loops;
        _timer = new PeriodicTimer(every, time);
        _pinging = PingAsync();
    }

    /// <summary>The interval systemd asked for, or null (no watchdog, or one meant for another process). Cleared from the
    /// environment as sd_watchdog_enabled(3) does, so scripts the agent runs do not inherit it.</summary>
    public static TimeSpan? IntervalFromEnvironment()
    {
        var usec = Environment.GetEnvironmentVariable(IntervalVariable);
        var pid = Environment.GetEnvironmentVariable(PidVariable);
        Environment.SetEnvironmentVariable(IntervalVariable, null);
        Environment.SetEnvironmentVariable(PidVariable, null);
        if (!long.TryParse(usec, out var us) || us <= 0)
            return null;
        if (pid is not null && (!int.TryParse(pid, out var p) || p != Environment.ProcessId))
            return null;
        return TimeSpan.FromMicroseconds(us);
    }

    /// <summary>Starts pinging at half of <paramref name="interval"/>; null without a notify socket or an interval.</summary>
    public static AgentWatchdog? Start(SdNotify? notify, TimeSpan? interval, LoopSupervisor loops, TimeProvider time) =>
        notify is null || interval is not { } i ? null : new AgentWatchdog(notify, loops, i / 2, time);

    private async Task PingAsync()
    {
        Ping();
        while (await _timer.WaitForNextTickAsync())
            Ping();
    }

    private void Ping()
    {
        var down = _loops.Down;
        if (down.Count == 0)
        {
            _notify.Send(_downSaid is null ? "WATCHDOG=1" : "WATCHDOG=1\nSTATUS=every loop running");
            _downSaid = null;
            return;
        }
        var said = "STATUS=loop down: " + string.Join(", ", down.Select(l => l.Job is null ? l.Name : $"{l.Name} ({l.Job})")) + "; watchdog not pinged";
        if (said != _downSaid)
            _notify.Send(said);
        _downSaid = said;
    }

    public async ValueTask DisposeAsync()
    {
        _timer.Dispose();
        await _pinging;
    }
}
