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
/// lease expired, so the source has fenced itself), and its release at fail-back. The target's value has no lease:
/// it holds the key for as long as it holds the identity, whatever happens to its own link to the witness.
/// </summary>
internal sealed class TargetClaim(WitnessKey key, string targetId, TimeProvider time)
{
    private readonly EtcdClient _etcd = key.Client();
    private readonly Lock _lock = new();
    private string _state = "unknown";
    private string? _detail;
    private DateTimeOffset? _at;

    public WitnessKey Key => key;

    private string Value => WitnessKey.TargetValue(targetId);

    public async Task<ClaimResult> TryTakeAsync(CancellationToken ct)
    {
        ClaimResult r;
        try
        {
            var holder = await _etcd.CreateAsync(key.Key, Value, lease: 0, ct);
            r = holder is null || holder == Value
                ? new ClaimResult(ClaimOutcome.Won, $"took the witness key {key.Key}")
                : new ClaimResult(ClaimOutcome.Held, $"the witness key {key.Key} is held by {WitnessKey.Describe(holder)} (its lease is live: it renewed within {key.Spec.Lease.TotalSeconds:0} s)");
        }
        catch (WitnessUnreachableException e)
        {
            r = new ClaimResult(ClaimOutcome.Unreachable, e.Message);
        }
        Note(r.Outcome switch { ClaimOutcome.Won => "held by this target", ClaimOutcome.Held => "held by the source", _ => "unreachable" }, r.Detail);
        return r;
    }

    /// <summary>Gives the key up (only while it is this target's), so the source can take it again before it reclaims its identity.</summary>
    /// <exception cref="WitnessUnreachableException">The witness did not answer.</exception>
    public async Task ReleaseAsync(CancellationToken ct)
    {
        await _etcd.DeleteAsync(key.Key, Value, ct);
        Note("released", null);
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
/// (and only then its addresses). Revert (the fail-back aborted and the target takes the identity back) takes it again.
/// </summary>
internal sealed class WitnessReleaseStep(TargetClaim claim) : IFailoverStep
{
    public string Name => "release the witness key";

    public IReadOnlyList<string> Describe() => [$"delete {claim.Key.Key} from the witness ({string.Join(", ", claim.Key.Spec.Endpoints)}) while it is this target's"];

    public async Task ApplyAsync(StepContext ctx, CancellationToken ct)
    {
        try
        {
            await claim.ReleaseAsync(ct);
        }
        catch (WitnessUnreachableException e)
        {
            throw new StepFailedException($"cannot release the witness key: {e.Message}; the source could not take it, so it would not reclaim its identity", abort: true);
        }
        ctx.Info(EventCode.WitnessReleased, $"released the witness key {claim.Key.Key}: the source may take it again");
    }

    public async Task RevertAsync(StepContext ctx, CancellationToken ct)
    {
        var r = await claim.TryTakeAsync(ct);
        if (r.Outcome != ClaimOutcome.Won)
            ctx.Warn(EventCode.WitnessUnreachable, $"could not take the witness key back after an aborted fail-back: {r.Detail}");
    }
}
