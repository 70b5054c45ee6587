using Understudy.Agent.Events;
using Understudy.Agent.Identity;
using Understudy.Core.Api;

namespace Understudy.Agent.Witness;

internal enum ClaimOutcome
{
    /// <summary>This target holds the key now (it created it, or held it already).</summary>
    Won,

    /// <summary>Someone else holds it: the source renewed its lease within the lease time, so it is alive somewhere.</summary>
    Held,

    /// <summary>No witness endpoint answered within the deadline: nothing may be taken over by itself.</summary>
    Unreachable,
}

internal sealed record ClaimResult(ClaimOutcome Outcome, string Detail);

/// <summary>
/// The target's side of the witness: the one transaction that takes the job's key while it is absent (the source's
/// lease expired, so the source has fenced itself), and its release at fail-back or after an aborted take-over. The
/// target's value has no lease: it holds the key for as long as it holds the identity, whatever happens to its own
/// link to the witness; so a release that fails must be tried again (TargetClaim.Release.cs), or the source stays
/// fenced for good.
/// </summary>
internal sealed partial class TargetClaim(WitnessKey key, string targetId, TimeProvider time, ClaimReport report)
{
    private readonly EtcdClient _etcd = key.Client();
    private readonly Lock _lock = new();

    /// <summary>
    /// One etcd call at a time: a release retried in the background must never land after a take won the key again
    /// for a take-over (the take clears the owed release while it holds this, so the next try sees none).
    /// </summary>
    private readonly SemaphoreSlim _one = new(1, 1);
    private string _state = "unknown";
    private string? _detail;
    private DateTimeOffset? _at;

    public WitnessKey Key => key;

    private string Value => WitnessKey.TargetValue(targetId);

    public async Task<ClaimResult> TryTakeAsync(CancellationToken ct)
    {
        ClaimResult r;
        await _one.WaitAsync(ct);
        try
        {
            var holder = await _etcd.CreateAsync(key.Key, Value, lease: 0, ct);
            r = holder is null || holder == Value
                ? new ClaimResult(ClaimOutcome.Won, $"took the witness key {key.Key}")
                : new ClaimResult(ClaimOutcome.Held, $"the witness key {key.Key} is held by {WitnessKey.Describe(holder)} (its lease is live: it renewed within {key.Spec.Lease.TotalSeconds:0} s)");
            if (r.Outcome == ClaimOutcome.Won)
                DropOwedRelease();
        }
        catch (WitnessUnreachableException e)
        {
            r = new ClaimResult(ClaimOutcome.Unreachable, e.Message);
        }
        finally
        {
            _one.Release();
        }
        Note(r.Outcome switch { ClaimOutcome.Won => "held by this target", ClaimOutcome.Held => "held by the source", _ => "unreachable" }, r.Detail);
        return r;
    }

    /// <summary>One try to give the key up (only while it is this target's), so the source can take it again before it reclaims its identity.</summary>
    /// <exception cref="WitnessUnreachableException">The witness did not answer (within the client's deadline).</exception>
    public async Task ReleaseAsync(CancellationToken ct)
    {
        await _one.WaitAsync(ct);
        try
        {
            await _etcd.DeleteAsync(key.Key, Value, ct);
            DropOwedRelease();
            Note("released", null);
        }
        finally
        {
            _one.Release();
        }
    }

    private void Note(string state, string? detail)
    {
        lock (_lock)
        {
            _state = state;
            _detail = detail;
            _at = time.GetUtcNow();
        }
    }

    public WitnessView View()
    {
        lock (_lock)
            return new WitnessView([.. key.Spec.Endpoints], key.Key, key.Spec.Lease.TotalSeconds, key.Spec.Renew.TotalSeconds, _state, _detail, _at?.ToString("O"));
    }
}

/// <summary>
/// Fail-back's step after the identity is released: the target gives the witness key up, so the source can take it
/// (and only then its addresses). A witness that does not answer is tried again (1 s doubling, up to
/// <see cref="Bound"/>, event 810, 811 when it then works); after that the step aborts the fail-back, whose undo takes
/// the identity back here and (<see cref="RevertAsync"/>) the key with it: the target serves, the source stays passive,
/// and the operator runs fail-back again once the witness answers.
/// </summary>
internal sealed class WitnessReleaseStep(TargetClaim claim, TimeProvider time) : IFailoverStep
{
    /// <summary>How long the step tries before it gives up: long enough for a witness restart, short enough for an operator waiting on `failback`.</summary>
    public TimeSpan Bound { get; init; } = TimeSpan.FromSeconds(60);

    public string Name => "release the witness key";

    public IReadOnlyList<string> Describe() => [$"delete {claim.Key.Key} from the witness ({string.Join(", ", claim.Key.Spec.Endpoints)}) while it is this target's"
        + $" (tried again for up to {Bound.TotalSeconds:0} s if the witness does not answer)"];

    public async Task ApplyAsync(StepContext ctx, CancellationToken ct)
    {
        long started = time.GetTimestamp();
        var backoff = TargetClaim.FirstBackoff;
        int failures = 0;
        while (true)
        {
            try
            {
                await claim.ReleaseAsync(ct);
                break;
            }
            catch (WitnessUnreachableException e)
            {
                failures++;
                var left = Bound - time.GetElapsedTime(started);
                if (left <= TimeSpan.Zero)
                    throw new StepFailedException($"cannot release the witness key {claim.Key.Key}: the witness did not answer for {Bound.TotalSeconds:0} s ({failures} tries; last: {e.Message}); "
                        + "the fail-back is undone: this target keeps the identity and takes the key back, the source stays passive; "
                        + $"run 'understudy failback {ctx.Job}' again once the witness answers", abort: true);
                if (failures == 1)
                    ctx.Warn(EventCode.WitnessReleaseRetrying, $"could not release the witness key {claim.Key.Key} for the fail-back: {e.Message}; "
                        + $"trying again (1 s doubling to {TargetClaim.MaxBackoff.TotalSeconds:0} s) for up to {Bound.TotalSeconds:0} s before the fail-back is undone");
                await Task.Delay(backoff < left ? backoff : left, time, ct);
                backoff = TargetClaim.Next(backoff);
            }
        }
        if (failures > 0)
            ctx.Info(EventCode.WitnessReleaseRecovered, $"released the witness key {claim.Key.Key} after {failures} failed tries: the source may take it again");
        else
            ctx.Info(EventCode.WitnessReleased, $"released the witness key {claim.Key.Key}: the source may take it again");
    }

    public async Task RevertAsync(StepContext ctx, CancellationToken ct)
    {
        var r = await claim.TryTakeAsync(ct);
        if (r.Outcome != ClaimOutcome.Won)
            ctx.Warn(EventCode.WitnessUnreachable, $"could not take the witness key back after an aborted fail-back: {r.Detail}");
    }
}
