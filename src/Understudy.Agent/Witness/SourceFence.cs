using Understudy.Agent.Common;
using Understudy.Agent.Events;
using Understudy.Agent.Identity;
using Understudy.Core.Jobs;

namespace Understudy.Agent.Witness;

/// <summary>
/// What a source that lost its witness lease gives up, at once: each of the job's identity addresses wherever this host
/// holds it, then its shares, then its kernel NFS exports (<see cref="SourceIdentity"/>, the same stand-down a returning
/// source whose job failed over makes). Unfencing gives them back through <paramref name="reclaim"/> (the
/// fail-back's own reclaim: duplicate address detection first, then gratuitous ARP) and removes the share fragment.
/// The fenced mark is kept in the state store (<c>kv witness-fenced/JOB</c>), so a restart does not forget it.
/// </summary>
internal sealed class SourceFence(AgentContext ctx, ICommandRunner commands, IdentityOptions options, Func<JobSpec, CancellationToken, Task<string?>> reclaim)
{
    private readonly SourceIdentity _identity = new(commands, options, ctx.AgentName);

    private static string Key(string job) => "witness-fenced/" + job;

    public bool IsFenced(string job) => ctx.Store.GetValue(Key(job)) is { } v && v != "null";

    public async Task FenceAsync(JobSpec spec, string why, CancellationToken ct)
    {
        ctx.Store.SetValue(Key(spec.Name), System.Text.Json.JsonSerializer.Serialize(why));
        var down = new StandDown();
        await _identity.DropAddressesAsync(spec, down, ct);
        await _identity.SharesOffAsync(spec, down, onlyIfChanged: false, ct);
        await _identity.UnexportAsync(spec, down, ct);
        var dropped = down.Absent.Count == 0 ? down.Dropped : [.. down.Dropped, "no NFS export " + string.Join(", ", down.Absent) + " (not exported here)"];
        ctx.Events.Record(EventCode.WitnessFenced, Severity.Error, "witness", spec.Name,
            $"fenced: {why}; dropped {(dropped.Count == 0 ? "nothing (no identity address was on this host)" : string.Join(", ", dropped))}. "
            + "The job's service stays off here until the witness key is this source's again (or, after a take-over, until fail-back)");
        if (down.Failed.Count > 0)
            ctx.Events.Record(EventCode.WitnessFenceFailed, Severity.Error, "witness", spec.Name, $"fencing failed in part: {string.Join("; ", down.Failed)}: remove what is left of the identity by hand now (the target may take over once the lease expires)");
    }

    /// <summary>After the source took its key again: its identity back; false (still fenced) when the reclaim failed.</summary>
    public async Task<bool> UnfenceAsync(JobSpec spec, CancellationToken ct)
    {
        if (await reclaim(spec, ct) is { } error)
        {
            ctx.Events.Record(EventCode.WitnessFenceFailed, Severity.Error, "witness", spec.Name, $"holds the witness key again but could not reclaim its identity: {error}; retried");
            return false;
        }
        var id = spec.Failover!.Identity;
        await _identity.SharesOnAsync(spec, ct);
        if (await _identity.ReexportAsync(spec, ct) is { } notExported)
            ctx.Events.Record(EventCode.WitnessFenceFailed, Severity.Error, "witness", spec.Name,
                $"could not export the NFS exports again ({notExported}): run 'exportfs -r' by hand");
        ctx.Store.SetValue(Key(spec.Name), "null");
        ctx.Events.Record(EventCode.WitnessUnfenced, Severity.Info, "witness", spec.Name,
            $"the witness key is this source's again: identity reclaimed ({string.Join(", ", id.Addresses.Select(a => a.Address))}{(id.Shares.Count > 0 ? ", shares available" : "")}{(SourceIdentity.Exports(spec).Count > 0 ? ", NFS exports again (exportfs -r)" : "")})");
        return true;
    }

    /// <summary>A job no longer fenced by the witness (removed, or fail-back took its identity back another way).</summary>
    public void Forget(string job) => ctx.Store.SetValue(Key(job), "null");
}
