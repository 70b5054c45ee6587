using Understudy.Agent.Events;

namespace Understudy.Agent.Failover;

// Keeping the held identity true (issue 20, item 4; docs/architecture.md, "Fail-over"): re-asserted after a restart
// before the job says failed-over again, watched every monitor interval and repaired when it drifts.
internal sealed partial class FailoverEngine
{
    // One pass of the keeper at a time, and never beside a fail-back: a repair racing the release would put an
    // address back on this host after the fail-back took it off (two holders once the source reclaims it).
    private readonly SemaphoreSlim _identityGate = new(1, 1);

    // Set while the identity is being taken again: the state to return to once it is held. Status shows failing-over
    // meanwhile (in memory only; the stored state stays, so a restart starts the same way), so it never claims an
    // identity this host does not hold.
    private FailoverState? _reassertTo;
    private string? _reassertReason;
    private bool _keepAll;
    private string? _lastKeepFailure;

    /// <summary>
    /// The job holds the source's identity as its stored state says (failed-over, restoring, failing-back), also while
    /// taking it again after a restart; not while a take-over runs (failing-over). A passive source stands down on this.
    /// </summary>
    public bool HoldsIdentityNow
    {
        get
        {
            lock (_lock)
                return _reassertTo is not null || State is FailoverState.FailedOver or FailoverState.Restoring or FailoverState.FailingBack;
        }
    }

    /// <summary>At start: a job that held the identity when the agent stopped takes it again before it says so.</summary>
    private void BeginReassert()
    {
        lock (_lock)
        {
            if (State is not (FailoverState.FailedOver or FailoverState.Restoring))
                return;
            _s.Events.Record(EventCode.IdentityReasserting, Severity.Info, "failover", Job,
                $"this agent started while holding the identity of {SourceName} ({State.Name()}): taking it again (addresses after duplicate address detection, "
                + "names, shares, exports, announcements) before it reports so; status says failing-over until then");
            Reassert(State, "re-asserting the identity held before this agent started");
            _keepAll = true;
        }
    }

    private void Reassert(FailoverState returnTo, string reason)
    {
        _reassertTo ??= returnTo;
        _reassertReason ??= _reason;
        State = FailoverState.FailingOver;
        _reason = reason;
        Changed?.Invoke(this);
    }

    /// <summary>One pass of the keeper (from the monitor loop): nothing unless the job holds the identity and no fail-back runs.</summary>
    private async Task KeepIdentityAsync(CancellationToken ct)
    {
        lock (_lock)
        {
            if (!Keeping)
                return;
        }
        await _identityGate.WaitAsync(ct);
        try
        {
            bool all;
            lock (_lock)
            {
                if (!Keeping)
                    return;
                all = _keepAll;
            }
            var r = await new IdentityKeeper(FailoverRunner()).KeepAsync(BuildPlan(force: false), all, Drifting, ct);
            lock (_lock)
                Report(r);
        }
        finally
        {
            _identityGate.Release();
        }
    }

    /// <summary>Under the lock: the job holds the identity (or is taking it again) and no fail-back runs.</summary>
    private bool Keeping => _reassertTo is not null || State is FailoverState.FailedOver or FailoverState.Restoring;

    private void Drifting(IReadOnlyList<string> drifted)
    {
        lock (_lock)
        {
            if (_reassertTo is null)
                _s.Events.Record(EventCode.IdentityDrifted, Severity.Warning, "failover", Job,
                    $"the identity held for {SourceName} drifted: {string.Join("; ", drifted)}; repairing", new { drifted });
        }
    }

    private void Report(KeepResult r)
    {
        var reasserting = _reassertTo is not null;
        if (!r.Held)
        {
            var failure = string.Join("; ", r.Failed);
            if (failure != _lastKeepFailure)
                _s.Events.Record(EventCode.IdentityNotHeld, Severity.Error, "failover", Job,
                    $"could not {(reasserting ? "re-assert" : "repair")} the identity of {SourceName}: {failure}; status says failing-over, and it is tried again every "
                    + $"{Settings.Monitor.Interval.TotalSeconds:0.###} s (an address that answers elsewhere is never taken: find who holds it)", new { failed = r.Failed });
            _lastKeepFailure = failure;
            _keepAll = false;
            Reassert(_reassertTo ?? State, $"re-taking the identity: {failure}");
            return;
        }
        _lastKeepFailure = null;
        _keepAll = false;
        if (_reassertTo is { } to)
        {
            State = to;
            _reason = _reassertReason;
            _reassertTo = null;
            _reassertReason = null;
            _s.Events.Record(EventCode.IdentityReasserted, Severity.Info, "failover", Job,
                $"holds the identity of {SourceName} again{(r.Drifted.Count > 0 ? $" (it had lost: {string.Join("; ", r.Drifted)})" : "")}: {to.Name()}"
                + (r.Warnings.Count > 0 ? $" ({string.Join("; ", r.Warnings)})" : ""));
            Changed?.Invoke(this);
        }
        else if (r.Repaired.Count > 0)
        {
            _s.Events.Record(EventCode.IdentityRepaired, Severity.Info, "failover", Job, $"repaired the identity of {SourceName}: {string.Join("; ", r.Repaired)}",
                new { repaired = r.Repaired });
        }
    }
}
