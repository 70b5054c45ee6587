using Understudy.Agent.Events;

namespace Understudy.Agent.Witness;

/// <summary>How a target's claim tells its engine about a background release: an event (code, severity, message), and the owed release to keep (null: none owed).</summary>
internal sealed record ClaimReport(Action<EventCode, string, string> Event, Action<string?> Remember);

// The release owed after an aborted take-over (or a key won for a take-over no longer wanted). The target's key has no
// lease, so a release that fails once must be tried again until it works: the source cannot take its key, and stays
// fenced, until then. The engine runs RunReleasesAsync as its supervised "witness-release" loop.
internal sealed partial class TargetClaim
{
    public static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    /// <summary>Raised by <see cref="RequestRelease"/>; the loop waits on it while no release is owed.</summary>
    private readonly SemaphoreSlim _wanted = new(0);

    /// <summary>Why a release is owed; null when none is.</summary>
    private string? _owed;

    public static TimeSpan Next(TimeSpan backoff) => TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));

    /// <summary>True while a release is owed and has not worked yet (status shows it as "release pending").</summary>
    public bool ReleasePending
    {
        get
        {
            lock (_lock)
                return _owed is not null;
        }
    }

    /// <summary>Owes a release (<paramref name="why"/> goes into its events); the loop tries it at once, then again until it works.</summary>
    public void RequestRelease(string why)
    {
        lock (_lock)
            _owed = why;
        report.Remember(why);
        _wanted.Release();
    }

    /// <summary>A take won the key (or a release worked): no release is owed any more.</summary>
    private void DropOwedRelease()
    {
        bool was;
        lock (_lock)
        {
            was = _owed is not null;
            _owed = null;
        }
        if (was)
            report.Remember(null);
    }

    /// <summary>
    /// The engine's loop: waits for an owed release, then tries it (each call within the etcd client's deadline),
    /// 1 s doubling to <see cref="MaxBackoff"/> between tries, until it works or a take wins the key again. Ends only
    /// when <paramref name="ct"/> is cancelled (the engine's dispose); a release still owed then is kept by the engine
    /// and owed again at its next start.
    /// </summary>
    public async Task RunReleasesAsync(CancellationToken ct)
    {
        try
        {
            while (true)
            {
                await _wanted.WaitAsync(ct);
                await ReleaseOwedAsync(ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task ReleaseOwedAsync(CancellationToken ct)
    {
        var backoff = FirstBackoff;
        int failures = 0;
        while (true)
        {
            string? why = null;
            await _one.WaitAsync(ct);
            try
            {
                lock (_lock)
                    why = _owed;
                if (why is null)
                    return; // released by someone else, or a take won the key again: it is needed now
                await _etcd.DeleteAsync(key.Key, Value, ct);
                DropOwedRelease();
                Note("released", null);
                if (failures == 0)
                    report.Event(EventCode.WitnessReleased, Severity.Info, $"released the witness key {key.Key} ({why})");
                else
                    report.Event(EventCode.WitnessReleaseRecovered, Severity.Info, $"released the witness key {key.Key} ({why}) after {failures} failed tries: the source may take it again");
                return;
            }
            catch (WitnessUnreachableException e)
            {
                failures++;
                if (failures == 1)
                    report.Event(EventCode.WitnessReleaseRetrying, Severity.Warning, $"could not release the witness key {key.Key} ({why}): {e.Message}; "
                        + $"trying again (1 s doubling to {MaxBackoff.TotalSeconds:0} s) until it works: the source cannot take its key, and stays fenced, until then");
                Note("release pending", $"{why}: {failures} tries failed, the last: {e.Message}; next in {backoff.TotalSeconds:0} s");
            }
            finally
            {
                _one.Release();
            }
            await Task.Delay(backoff, time, ct);
            backoff = Next(backoff);
        }
    }
}
