using Understudy.Agent.Events;
using Understudy.Agent.Jobs;
using Understudy.Agent.Witness;

namespace Understudy.Agent.Failover;

/// <summary>
/// The witness gate (failover.witness, docs/failover-planning.md "A witness"): with a witness, the monitor's "the source
/// is lost" is not enough to take over by itself; the target must also win the job's key while it is absent, which it
/// is only once the source's lease expired, and a source that cannot renew fences itself before that. The decision
/// stays pure (<see cref="FailoverDecider"/>); the engine asks the witness between the round and the take-over.
/// </summary>
internal sealed partial class FailoverEngine
{
    private TargetClaim? _claim;

    /// <summary>True once this target won the key for the take-over that follows (or runs).</summary>
    private bool _claimWon;

    /// <summary>A round wanted a take-over and waits for the witness's answer (the monitor loop asks it, outside the lock).</summary>
    private bool _claimWanted;

    /// <summary>The last refusal said (event 684/685 once per outage, not every interval).</summary>
    private ClaimOutcome? _lastRefusal;

    /// <summary>The background release's loop (<see cref="TargetClaim.RunReleasesAsync"/>); completed without a witness.</summary>
    private Task _releases = Task.CompletedTask;

    private TargetClaim? Claim => Settings.Witness is null ? null : _claim ??= new TargetClaim(new WitnessKey(Settings.Witness, SourceId, Job), _s.SelfId, _s.Time,
        new ClaimReport((code, severity, message) => _s.Events.Record(code, severity, "failover", Job, message),
            why => _held.Write(OwedReleaseKey, () => _s.Store.SetValue(OwedReleaseKey, why ?? ""))));

    /// <summary>A release still owed when the agent stopped (the state store's value; empty: none), owed again at the next start.</summary>
    private string OwedReleaseKey => $"witness-release/{SourceId}/{Job}";

    /// <summary>At start, with a witness: the release loop (supervised like the monitor), and a release the last run still owed.</summary>
    private void StartReleases()
    {
        if (Claim is not { } claim)
            return;
        _releases = _s.Loops?.Run("witness-release", Job, claim.RunReleasesAsync, _stop.Token) ?? claim.RunReleasesAsync(_stop.Token);
        if (_s.Store.GetValue(OwedReleaseKey) is { Length: > 0 } why)
            claim.RequestRelease(why);
    }

    /// <summary>True when a take-over must first win the witness key (called under the lock by <see cref="Apply"/>).</summary>
    private bool NeedsClaim(bool force)
    {
        if (Claim is null || force || _claimWon)
            return false;
        _claimWanted = true;
        return true;
    }

    /// <summary>After a round: asks the witness when the round wanted a take-over, then applies the answer.</summary>
    private async Task ClaimIfWantedAsync(CancellationToken ct)
    {
        lock (_lock)
        {
            if (!_claimWanted || Claim is null)
                return;
            _claimWanted = false;
        }
        var r = await Claim.TryTakeAsync(ct);
        bool release = false;
        lock (_lock)
        {
            var d = FailoverDecider.Decide(State, [.. _watches.Select(w => w.Misses)], DecisionSettings.From(Settings), Dismissed);
            if (d.Action != FailoverAction.FailOver)
            {
                // The source came back (or an operator stepped in) while the witness was asked: no take-over, and a key won meanwhile goes back.
                release = r.Outcome == ClaimOutcome.Won;
            }
            else if (r.Outcome == ClaimOutcome.Won)
            {
                _lastRefusal = null;
                _claimWon = true;
                _s.Events.Record(EventCode.WitnessTaken, Severity.Info, "failover", Job, $"{r.Detail}: the source's lease expired, so it has fenced itself; taking over");
                Apply(d, force: false);
            }
            else
            {
                if (_lastRefusal != r.Outcome)
                {
                    if (r.Outcome == ClaimOutcome.Held)
                        _s.Events.Record(EventCode.WitnessRefusedTakeover, Severity.Warning, "failover", Job,
                            $"the monitor says {SourceName} is lost ({d.Reason}), but {r.Detail}: it is alive and reaches the witness, so no take-over (asked again every interval)");
                    else
                        _s.Events.Record(EventCode.WitnessUnreachable, Severity.Error, "failover", Job,
                            $"the monitor says {SourceName} is lost ({d.Reason}), but {r.Detail}: no automatic take-over without the witness "
                            + $"(asked again every interval; 'understudy failover {Job} --force' takes over without it)");
                }
                _lastRefusal = r.Outcome;
                SetState(FailoverState.Suspect, $"{d.Reason}; no take-over: {(r.Outcome == ClaimOutcome.Held ? "the source holds its witness lease" : "the witness is unreachable")}", Dismissed);
            }
        }
        if (release)
            ReleaseClaim("the source answers again");
    }

    /// <summary>An operator's fail-over with a witness: the key first, refused (409) when the source holds it or the witness is silent, unless forced.</summary>
    private async Task ClaimForOperatorAsync(bool force, CancellationToken ct)
    {
        if (Claim is null || force)
            return;
        var r = await Claim.TryTakeAsync(ct);
        if (r.Outcome == ClaimOutcome.Won)
        {
            lock (_lock)
                _claimWon = true;
            _s.Events.Record(EventCode.WitnessTaken, Severity.Info, "failover", Job, $"{r.Detail} for the operator's fail-over");
            return;
        }
        throw new JobRequestException(r.Outcome == ClaimOutcome.Held
            ? $"job '{Job}': {r.Detail}: the source is alive and may be serving; 'understudy failover {Job} --force' takes over anyway (both hosts may then hold the identity)"
            : $"job '{Job}': {r.Detail}; the source may still hold its lease: 'understudy failover {Job} --force' takes over without the witness", 409);
    }

    /// <summary>
    /// An aborted take-over (or a won key no longer needed) gives the key back, so the source can take it and unfence:
    /// owed to the release loop, which tries at once and again until it works (events 810, 811), not only once.
    /// </summary>
    private void ReleaseClaim(string why)
    {
        if (Claim is null)
            return;
        lock (_lock)
            _claimWon = false;
        Claim.RequestRelease(why);
    }

    /// <summary>For fail-back: the step that gives the key up after the identity is released; null without a witness.</summary>
    private Identity.IFailoverStep? WitnessReleaseStep() => Claim is { } c ? new WitnessReleaseStep(c, _s.Time) : null;
}
