using Understudy.Agent.Events;

namespace Understudy.Agent.Common;

/// <summary>
/// Owns the agent's long-running loops (a job's command and replication loop, its capture, the fail-over monitor, the
/// passive poller, a restore run): a loop that throws is reported (event 150 with the loop, its job and the reason; the
/// owner's <c>faulted</c> callback puts its job in <c>error</c> with that reason) and run again after a back-off
/// (<see cref="FirstBackoff"/>, doubling to <see cref="MaxBackoff"/>; reset after a run of <see cref="StableRun"/>),
/// with event 151 when it runs again. Before, each loop was a bare task: one that threw ended for good, unobserved, and
/// the status it fed froze. A loop that returns while not asked to stop is run again too (a loop ends only on stop).
/// <see cref="Down"/> is what `GET /api/v1/health` and the systemd watchdog read (Hosting/AgentWatchdog.cs).
/// </summary>
/// <param name="faults">The Debug builds' fault-injection seam (read by the host); null: none.</param>
internal sealed class LoopSupervisor(EventLog events, TimeProvider time, FaultInjection? faults = null)
{
    public static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan StableRun = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private readonly HashSet<SupervisedLoop> _loops = [];

    /// <summary>Every loop now running or waiting to run again.</summary>
    public IReadOnlyList<SupervisedLoop> Loops
    {
        get
        {
            lock (_lock)
                return [.. _loops.OrderBy(l => l.Job, StringComparer.Ordinal).ThenBy(l => l.Name, StringComparer.Ordinal)];
        }
    }

    /// <summary>The loops that failed and have not run again yet.</summary>
    public IReadOnlyList<SupervisedLoop> Down => [.. Loops.Where(l => l.Failure is not null)];

    /// <summary>
    /// Runs <paramref name="body"/> until <paramref name="ct"/> is cancelled, again after each failure. The task
    /// completes when it is cancelled (never faults): owners await it on dispose as before.
    /// </summary>
    /// <param name="faulted">Told the reason when the loop fails (e.g. the job goes to state error); not told when it
    /// runs again: the loop sets its own state as it goes.</param>
    public Task Run(string name, string? job, Func<CancellationToken, Task> body, CancellationToken ct, Action<string>? faulted = null)
    {
        var loop = new SupervisedLoop(name, job);
        lock (_lock)
            _loops.Add(loop);
        return SuperviseAsync(loop, body, faulted, ct);
    }

    private async Task SuperviseAsync(SupervisedLoop loop, Func<CancellationToken, Task> body, Action<string>? faulted, CancellationToken ct)
    {
        await Task.Yield();
        var backoff = FirstBackoff;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var started = time.GetUtcNow();
                string reason;
                try
                {
                    faults?.Throw(loop.Name);
                    await body(ct);
                    if (ct.IsCancellationRequested)
                        return;
                    reason = "the loop ended by itself";
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    reason = $"{e.GetType().Name}: {e.Message}";
                }
                if (time.GetUtcNow() - started >= StableRun)
                    backoff = FirstBackoff;
                loop.Failed(reason, time.GetUtcNow());
                events.Record(EventCode.LoopFailed, Severity.Error, "agent", loop.Job,
                    $"{loop.Name} loop failed ({reason}); restarting in {backoff.TotalSeconds:0.#} s", new { loop = loop.Name, restarts = loop.Restarts });
                try
                {
                    faulted?.Invoke($"{loop.Name} loop failed ({reason}); restarting by itself");
                }
                catch (Exception e)
                {
                    events.Record(EventCode.LoopFailed, Severity.Error, "agent", loop.Job, $"{loop.Name} loop: reporting its failure failed too ({e.Message})");
                }
                await Task.Delay(backoff, time, ct);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
                loop.Restarted();
                events.Record(EventCode.LoopRestarted, Severity.Info, "agent", loop.Job, $"{loop.Name} loop running again (restart {loop.Restarts})",
                    new { loop = loop.Name, restarts = loop.Restarts });
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            lock (_lock)
                _loops.Remove(loop);
        }
    }
}

/// <summary>One supervised loop, as health shows it.</summary>
internal sealed class SupervisedLoop(string name, string? job)
{
    public string Name { get; } = name;

    public string? Job { get; } = job;

    /// <summary>Why it is down (null: running).</summary>
    public string? Failure { get; private set; }

    public DateTimeOffset? FailedAt { get; private set; }

    public int Restarts { get; private set; }

    internal void Failed(string reason, DateTimeOffset at)
    {
        FailedAt = at;
        Failure = reason;
    }

    internal void Restarted()
    {
        Restarts++;
        Failure = null;
    }
}
