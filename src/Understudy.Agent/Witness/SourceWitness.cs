using System.Collections.Concurrent;
using Understudy.Agent.Common;
using Understudy.Agent.Jobs;
using Understudy.Core.Api;
using Understudy.Core.Jobs;

namespace Understudy.Agent.Witness;

/// <summary>
/// The source agent's witness holds, one per job with <c>failover.witness</c> (<see cref="SourceHold"/>): one supervised
/// loop every 100 ms checks each hold's fence deadline and starts its renewal when due, so a hung call to etcd never
/// delays a fence. Jobs applied, changed or removed are picked up on the next pass.
/// </summary>
internal sealed class SourceWitness(AgentContext ctx, JobManager jobs, SourceFence fence, Func<string, bool> isPassive) : IAsyncDisposable
{
    private static readonly TimeSpan Pass = TimeSpan.FromMilliseconds(100);
    private readonly ConcurrentDictionary<string, SourceHold> _holds = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public void Start() => _loop = ctx.Loops.Run("witness", null, LoopAsync, _stop.Token);

    private async Task LoopAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(Pass, ctx.Time);
        try
        {
            do
            {
                var live = new HashSet<string>(StringComparer.Ordinal);
                foreach (var runner in jobs.Runners)
                {
                    if (runner.Stopped || jobs.FindSpec(runner.Job.Name) is not { Failover.Witness: not null } spec)
                        continue;
                    live.Add(spec.Name);
                    if (!_holds.TryGetValue(spec.Name, out var hold) || JobSpecJson.Serialize(hold.Spec) != JobSpecJson.Serialize(spec))
                    {
                        if (hold is not null)
                            await hold.ReleaseAsync(ct);
                        _holds[spec.Name] = hold = new SourceHold(ctx, spec, fence, isPassive);
                    }
                    await hold.CheckAsync(ct);
                }
                foreach (var gone in _holds.Keys.Where(k => !live.Contains(k)).ToList())
                {
                    if (_holds.TryRemove(gone, out var h))
                        await h.ReleaseAsync(ct);
                }
            }
            while (await timer.WaitForNextTickAsync(ct));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>`status` on the source: the job's hold, or null without a witness.</summary>
    public WitnessView? View(string job) => _holds.TryGetValue(job, out var h) ? h.View() : null;

    /// <summary>Fail-back's reclaim asks first: null when this source holds the job's key (taken now if need be), else why not.</summary>
    public async Task<string?> TakeForReclaimAsync(JobSpec spec, CancellationToken ct)
    {
        if (spec.Failover?.Witness is null)
            return null;
        var hold = _holds.GetOrAdd(spec.Name, _ => new SourceHold(ctx, spec, fence, isPassive));
        return await hold.TakeForReclaimAsync(ct);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        foreach (var h in _holds.Values)
        {
            try
            {
                await h.Running;
            }
            catch (OperationCanceledException)
            {
            }
        }
        _stop.Dispose();
    }
}
