using Understudy.Agent.Common;
using Understudy.Agent.Events;
using Understudy.Agent.Failover;
using Understudy.Agent.Identity;
using Understudy.Core.Jobs;
using Understudy.Core.Protocol.Control;

namespace Understudy.Agent.Restore;

/// <summary>
/// The source taking its identity back at fail-back: each identity address of the job is added
/// again (after duplicate address detection, so it is never held twice) on the interface the job
/// names, then announced with gratuitous ARP. Journaled like a fail-over (phase "reclaim"), so a
/// failure undoes what was added.
/// </summary>
/// With a witness (<paramref name="takeKey"/>, the source's witness holds) the job's key is taken first: the identity is
/// never served here without it.
/// <paramref name="identity"/>: the host's one instance, whose gate keeps a stand-down pass (Failover/SourceDemotion) from
/// meeting the reclaim half way (listing the addresses before the mark, deleting one the reclaim just added).
internal sealed class SourceReclaim(AgentContext ctx, ICommandRunner commands, IdentityOptions options, Func<JobSpec, CancellationToken, Task<string?>>? takeKey = null,
    SourceIdentity? identity = null)
{
    private readonly SourceIdentity _identity = identity ?? new SourceIdentity(commands, options, ctx.AgentName);

    public const string Phase = "reclaim";
    private const string Self = "local";

    private static IReadOnlyList<InterfaceAddress> Addresses(JobSpec spec) =>
        [.. (spec.Failover?.Identity.Addresses ?? ValueList<IdentityAddress>.Empty).Select(a => new InterfaceAddress(a.Address, a.Interface))];

    /// <summary>The job's identity addresses this host holds now (any interface).</summary>
    public async Task<IReadOnlyList<string>> HeldAsync(JobSpec spec, CancellationToken ct)
    {
        var wanted = Addresses(spec);
        if (wanted.Count == 0)
            return [];
        var r = await commands.RunAsync(options.Ip, ["-o", "addr", "show", "scope", "global"], CommandOptions.Default, ct);
        var present = IpAddr.ParseCidrs(r.Output);
        return [.. wanted.Where(w => present.Any(p => IpAddr.SameAddress(p, w.Cidr))).Select(w => w.Cidr)];
    }

    public async Task<ReclaimReply> ReclaimAsync(JobSpec spec, CancellationToken ct)
    {
        var addresses = Addresses(spec);
        var f = spec.Failover;
        if (f is not null && takeKey is not null && await takeKey(spec, ct) is { } noKey)
            return new ReclaimReply(false, $"the witness key is not this source's: {noKey}", []);
        if (f is null)
            return new ReclaimReply(true, null, []);
        // The key first (above), outside the gate: a witness unfence holds the key's lock while it reclaims through here.
        await _identity.Gate.WaitAsync(ct);
        try
        {
            if (addresses.Count > 0)
            {
                var steps = new List<IFailoverStep>();
                steps.AddRange(addresses.Select(a => new AddressStep(a, force: false)));
                steps.AddRange(addresses.Where(a => !a.IsIPv6).Select(a => new GarpStep(a, f.Arp.Count, f.Arp.Interval, ctx.Time)));
                ctx.Store.ClearSteps(Self, spec.Name, Phase);
                var outcome = await new StepRunner(ctx.Store, ctx.Events, Self, spec.Name, Phase, commands, options).RunAsync(steps, ct);
                if (!outcome.Completed)
                    return new ReclaimReply(false, outcome.AbortReason, []);
            }
            // The identity is this source's again: the stand-down of a returning source ends (PassiveGuard, SourceDemotion).
            // After the addresses, as the witness's unfence does: a reclaim that failed leaves no share served beside the target's.
            PassiveGuard.MarkReclaimed(ctx, spec.Name);
            await _identity.SharesOnAsync(spec, ct);
            if (await _identity.ReexportAsync(spec, ct) is { } notExported)
                ctx.Events.Record(EventCode.SourceIdentityNotRetaken, Severity.Error, "failback", spec.Name, $"could not export the NFS exports again ({notExported}): run 'exportfs -r' by hand");
        }
        finally
        {
            _identity.Gate.Release();
        }
        if (addresses.Count > 0)
            ctx.Events.Record(EventCode.FailbackReclaimed, Severity.Info, "failback", spec.Name, $"reclaimed this job's identity: {string.Join(", ", addresses.Select(a => a.Cidr))}");
        return new ReclaimReply(true, null, [.. addresses.Select(a => a.Cidr)]);
    }
}
