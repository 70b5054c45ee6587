using Understudy.Agent.Common;
using Understudy.Agent.Events;
using Understudy.Core.Api;
using Understudy.Core.Jobs;

namespace Understudy.Agent.Witness;

/// <summary>
/// One source job's hold on its witness key. Invariant: this host serves the job's identity only while it holds the
/// key under a lease that etcd cannot have let go yet. The key is taken (lease granted, key created while absent) and
/// the lease renewed every <see cref="WitnessSpec.Renew"/>; <see cref="Check"/>, called every 100 ms whatever the
/// calls to etcd are doing, fences the job once <see cref="WitnessSpec.FenceAfter"/> has passed since the last good
/// renewal was sent (etcd counts its lease from when it received it, later). Not holding the key at all (never taken
/// since start, taken by the target, expired) fences at once.
/// </summary>
internal sealed class SourceHold(AgentContext ctx, JobSpec spec, SourceFence fence, Func<string, bool> isPassive)
{
    private readonly WitnessKey _key = new(spec.Failover!.Witness!, ctx.Identity.Id, spec.Name);
    private readonly EtcdClient _etcd = new(spec.Failover!.Witness!.Endpoints, spec.Failover!.Witness!.Renew);
    private readonly SemaphoreSlim _one = new(1, 1);
    private readonly Lock _lock = new();
    private long? _lease;
    private long _lastGood;
    private long _nextTick;
    private bool _failSaid;
    private bool _heldOnce;
    private string _state = "starting";
    private string? _detail;
    private DateTimeOffset? _at;
    private Task _call = Task.CompletedTask;

    public JobSpec Spec => spec;

    private WitnessSpec W => _key.Spec;

    /// <summary>The deadline check (every 100 ms), then a renewal or a take when one is due and none runs.</summary>
    public async Task CheckAsync(CancellationToken ct)
    {
        bool expired;
        lock (_lock)
            expired = _lease is not null && ctx.Time.GetElapsedTime(_lastGood) >= W.FenceAfter;
        if (expired && !fence.IsFenced(spec.Name))
        {
            var since = ctx.Time.GetElapsedTime(_lastGood);
            await fence.FenceAsync(spec, $"the witness lease could not be renewed for {since.TotalSeconds:0.0} s (lease {W.Lease.TotalSeconds:0} s): "
                + "the target may take the key when it expires", ct);
            Note("fenced", _detail);
        }
        if (!_call.IsCompleted || ctx.Time.GetTimestamp() < _nextTick)
            return;
        _nextTick = ctx.Time.GetTimestamp() + (long)(W.Renew.TotalSeconds * ctx.Time.TimestampFrequency);
        _call = TickAsync(ct);
    }

    /// <summary>Awaits the call under way (dispose and tests).</summary>
    public Task Running => _call;

    private async Task TickAsync(CancellationToken ct)
    {
        await _one.WaitAsync(ct);
        try
        {
            long? lease;
            lock (_lock)
                lease = _lease;
            if (lease is { } id)
            {
                await RenewAsync(id, ct);
                return;
            }
            // Passive: the target took over and holds the key; fail-back's reclaim takes it (TakeForReclaimAsync).
            if (isPassive(spec.Name))
            {
                Note("passive", "the target holds the identity: the key is taken back at fail-back");
                return;
            }
            var taken = await TakeAsync(ct);
            if (taken is null && fence.IsFenced(spec.Name))
                await fence.UnfenceAsync(spec, ct);
            else if (taken is { } why && !fence.IsFenced(spec.Name))
            {
                await fence.FenceAsync(spec, why, ct);
                Note("fenced", why);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            _one.Release();
        }
    }

    private async Task RenewAsync(long id, CancellationToken ct)
    {
        long sent = ctx.Time.GetTimestamp();
        try
        {
            var ttl = await _etcd.KeepAliveAsync(id, ct);
            if (ttl > TimeSpan.Zero)
            {
                lock (_lock)
                    _lastGood = sent;
                _failSaid = false;
                if (fence.IsFenced(spec.Name) && !isPassive(spec.Name))
                    await fence.UnfenceAsync(spec, ct);
                Note("held", null);
                return;
            }
            lock (_lock)
                _lease = null;
            const string why = "the witness lease expired before it could be renewed";
            if (!fence.IsFenced(spec.Name))
                await fence.FenceAsync(spec, why, ct);
            Note("fenced", why);
        }
        catch (WitnessUnreachableException e)
        {
            var left = W.FenceAfter - ctx.Time.GetElapsedTime(_lastGood);
            if (!_failSaid)
                ctx.Events.Record(EventCode.WitnessRenewFailed, Severity.Warning, "witness", spec.Name,
                    $"could not renew the witness lease: {e.Message}; this source fences itself in {Math.Max(0, left.TotalSeconds):0.0} s unless a renewal succeeds");
            _failSaid = true;
            Note("renewal failing", e.Message);
        }
    }

    /// <summary>Takes the key (grant + create while absent, or re-bind one this source held before a restart); null when held now, else why not.</summary>
    private async Task<string?> TakeAsync(CancellationToken ct)
    {
        long sent = ctx.Time.GetTimestamp();
        try
        {
            var (id, _) = await _etcd.GrantAsync(W.Lease, ct);
            var holder = await _etcd.CreateAsync(_key.Key, _key.SourceValue, id, ct);
            if (holder is not null && (holder != _key.SourceValue || !await _etcd.ReplaceAsync(_key.Key, _key.SourceValue, _key.SourceValue, id, ct)))
            {
                try
                {
                    await _etcd.RevokeAsync(id, ct);
                }
                catch (WitnessUnreachableException)
                {
                    // It expires by itself.
                }
                var why = $"the witness key {_key.Key} is held by {WitnessKey.Describe(holder)}";
                Note("held by the target", why);
                return why;
            }
            lock (_lock)
            {
                _lease = id;
                _lastGood = sent;
            }
            _failSaid = false;
            ctx.Events.Record(EventCode.WitnessAcquired, Severity.Info, "witness", spec.Name,
                $"{(_heldOnce ? "took the witness key again" : "holds the witness key")} {_key.Key} (lease {W.Lease.TotalSeconds:0} s, renewed every {W.Renew.TotalSeconds:0.###} s)");
            _heldOnce = true;
            Note("held", null);
            return null;
        }
        catch (WitnessUnreachableException e)
        {
            if (!_failSaid)
                ctx.Events.Record(EventCode.WitnessRenewFailed, Severity.Warning, "witness", spec.Name, $"could not take the witness key: {e.Message}");
            _failSaid = true;
            Note("unreachable", e.Message);
            return $"the witness key could not be taken ({e.Message})";
        }
    }

    /// <summary>Fail-back's reclaim: the key first (null when held now), so the identity is never served without it.</summary>
    public async Task<string?> TakeForReclaimAsync(CancellationToken ct)
    {
        await _one.WaitAsync(ct);
        try
        {
            long? lease;
            lock (_lock)
                lease = _lease;
            return lease is not null ? null : await TakeAsync(ct);
        }
        finally
        {
            _one.Release();
        }
    }

    /// <summary>The job is gone or has no witness any more: the key goes with its lease (best effort).</summary>
    public async Task ReleaseAsync(CancellationToken ct)
    {
        await _call;
        long? lease;
        lock (_lock)
            (lease, _lease) = (_lease, null);
        if (lease is { } id)
        {
            try
            {
                await _etcd.RevokeAsync(id, ct);
            }
            catch (WitnessUnreachableException e)
            {
                // Not retried: the lease runs out by itself, and the key with it (a new hold for a changed spec re-binds it).
                ctx.Events.Record(EventCode.WitnessRevokeFailed, Severity.Info, "witness", spec.Name,
                    $"could not revoke the witness lease of {_key.Key}: {e.Message}; the key goes when the lease expires (within {W.Lease.TotalSeconds:0} s)");
            }
        }
    }

    private void Note(string state, string? detail)
    {
        lock (_lock)
        {
            if (fence.IsFenced(spec.Name) && state is "held")
                state = "held (fenced: reclaiming)";
            _state = fence.IsFenced(spec.Name) && state is not ("fenced" or "held (fenced: reclaiming)") ? $"fenced; {state}" : state;
            _detail = detail;
            _at = ctx.Time.GetUtcNow();
        }
    }

    public WitnessView View()
    {
        lock (_lock)
            return new WitnessView([.. W.Endpoints], _key.Key, W.Lease.TotalSeconds, W.Renew.TotalSeconds, _state, _detail, _at?.ToString("O"));
    }
}
