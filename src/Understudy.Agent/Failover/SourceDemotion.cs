using System.Collections.Concurrent;
using Understudy.Agent.Common;
using Understudy.Agent.Events;
using Understudy.Agent.Identity;
using Understudy.Agent.Jobs;
using Understudy.Core.Jobs;

namespace Understudy.Agent.Failover;

/// <summary>
/// A returning source stands down (issue 20, item 4): while a job is passive here (<see cref="PassiveGuard"/>: the
/// target took it over) this host must not serve its identity, yet a host whose OS configures the service address, the
/// share or the export brings them up at boot, before any agent runs. So the source takes them down
/// (<see cref="SourceIdentity"/>): at agent start before anything else (<see cref="StandDownStoredAsync"/>, from the
/// stored jobs, ahead of the peer link, the API and the jobs), at once when the target first says it holds the identity
/// (the passive poller's <see cref="Wake"/>), and every passive-poll interval (<see cref="AgentSettings.PassivePoll"/>) after, should a network
/// manager bring the address back. Only while passive, the target holding the identity (not while it is still taking
/// it: its duplicate address detection must be free to abort a take-over of a source that answers) and not yet given it
/// back by fail-back's reclaim (<see cref="PassiveGuard.MustStandDown"/>): a source whose job is not failed over keeps
/// everything it serves.
/// </summary>
internal sealed partial class SourceDemotion(AgentContext ctx, JobManager jobs, SourceIdentity identity) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly Lock _wakeLock = new();
    private readonly ConcurrentDictionary<string, string> _lastFailure = new(StringComparer.Ordinal);
    private Task _loop = Task.CompletedTask;

    public void Start() => _loop = ctx.Loops.Run("source-demotion", null, LoopAsync, _stop.Token);

    /// <summary>The target said it holds a job's identity (PassivePoller): a pass now, not at the next interval.</summary>
    public void Wake()
    {
        lock (_wakeLock)
        {
            if (_wake.CurrentCount == 0)
                _wake.Release();
        }
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        // One wait on the signal at a time, kept across intervals: a second waiter would take a wake the first then missed.
        Task? woken = null;
        try
        {
            while (true)
            {
                foreach (var runner in jobs.Runners)
                {
                    // A stopped job too: stopping replication does not make the identity this host's.
                    if (PassiveGuard.MustStandDown(ctx, runner.Job.Name) && jobs.FindSpec(runner.Job.Name) is { } spec)
                        await KeepOffAsync(spec, ct);
                }
                woken ??= _wake.WaitAsync(ct);
                if (await Task.WhenAny(woken, Task.Delay(ctx.Settings.PassivePoll, ctx.Time, ct)) == woken)
                    woken = null;
                ct.ThrowIfCancellationRequested();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>Takes down what this host serves of the job's identity; an event when something was up, another when something could not be taken down.</summary>
    public async Task KeepOffAsync(JobSpec spec, CancellationToken ct) => Record(spec, await TakeDownAsync(spec, ct));

    /// <summary>What was taken down of the job's identity; null when the job need not stand down (not, or no longer).</summary>
    private async Task<StandDown?> TakeDownAsync(JobSpec spec, CancellationToken ct)
    {
        if (spec.Failover is null)
            return null;
        var down = new StandDown();
        await identity.Gate.WaitAsync(ct);
        try
        {
            // Asked again under the gate: a fail-back's reclaim may have given the identity back meanwhile.
            if (!PassiveGuard.MustStandDown(ctx, spec.Name))
                return null;
            await identity.DropAddressesAsync(spec, down, ct);
            await identity.SharesOffAsync(spec, down, onlyIfChanged: true, ct);
            await identity.UnexportAsync(spec, down, ct);
        }
        finally
        {
            identity.Gate.Release();
        }
        return down;
    }

    private void Record(JobSpec spec, StandDown? down, bool announced = false)
    {
        if (down is null)
            return;
        if (down.Dropped.Count > 0 && !announced)
            ctx.Events.Record(EventCode.SourceDemoted, Severity.Warning, "failover", spec.Name,
                $"this job is failed over to the target, so this host must not serve its identity, but it did (its OS configuration brings it up): removed "
                + $"{string.Join(", ", down.Dropped)}; it stays off until fail-back", new { dropped = down.Dropped });
        var failure = string.Join("; ", down.Failed);
        if (down.Failed.Count > 0 && _lastFailure.GetValueOrDefault(spec.Name) != failure)
            ctx.Events.Record(EventCode.SourceDemoteFailed, Severity.Error, "failover", spec.Name,
                $"this job is failed over to the target, and this host could not take down all of its identity: {failure}; remove it by hand now "
                + "(and from the host's network configuration), or clients may reach two servers", new { failed = down.Failed });
        _lastFailure[spec.Name] = failure;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
