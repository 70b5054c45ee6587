using Understudy.Agent.Identity;
using Understudy.Core.Jobs;

namespace Understudy.Agent.Failover;

/// <summary>
/// Builds the ordered steps of a fail-over from the job spec. Deterministic: after a restart the
/// same spec yields the same steps, which is how the journal matches what was done.
/// Order: stop replication → pre-scripts → server name (→ replace: host name) → Samba shares →
/// NFS exports → (replace: give up own addresses) → each address, then its gratuitous ARP → post-scripts.
/// The addresses move last, as Pacemaker orders an IP after its service: the first client that
/// reaches the target at the source's address finds the shares already there, never a server
/// that answers "no such share" (a reconnecting SMB client gives up on that). Duplicate address
/// detection may already have been done while the source was suspect (the `early` argument, <see cref="SuspectProbing"/>).
/// </summary>
internal static class TakeoverPlan
{
    public static IReadOnlyList<IFailoverStep> Build(JobSpec spec, string sourceId, string sourceName, IdentityOptions options,
        IReplicationControl control, Func<SourceQueueReport?> lastReport, TimeProvider time, bool force, IDuplicateAddressProbe? probe = null,
        IEarlyDad? early = null)
    {
        var f = spec.Failover ?? throw new InvalidOperationException($"job '{spec.Name}' has no fail-over section");
        var id = f.Identity;
        var addresses = (id.Addresses ?? ValueList<IdentityAddress>.Empty).Select(a => (Address: new InterfaceAddress(a.Address, a.Interface), a.Force)).ToList();
        var shares = (id.Shares ?? ValueList<ShareSpec>.Empty).Select(s => (s.Name, Path: MapPath(spec, s.Path),
            Options: (IReadOnlyList<(string, string)>)[.. (s.Options ?? ValueList<ShareOption>.Empty).Select(o => (o.Name, o.Value))])).ToList();
        var env = new Func<string, ScriptEnvironment>(phase => new ScriptEnvironment(spec.Name, phase,
            [.. addresses.Select(a => a.Address.Cidr)], [.. shares.Select(s => s.Name)]));

        var steps = new List<IFailoverStep> { new StopReplicationStep(sourceId, spec.Name, control, lastReport) };
        var scripts = f.Scripts ?? new ScriptsSpec();
        int n = 0;
        foreach (var s in scripts.PreFailover ?? ValueList<ScriptSpec>.Empty)
            steps.Add(new ScriptStep(s, env(ScriptEnvironment.PreFailover), scripts.AbortOnPreFailure, n++));
        var name = id.ServerName ?? (f.Mode == FailoverMode.Replace ? id.SourceName : null);
        if (name is not null)
        {
            steps.Add(new ServerNameStep(spec.Name, name, options, replace: f.Mode == FailoverMode.Replace));
            if (f.Mode == FailoverMode.Replace)
                steps.Add(new HostnameStep(name));
        }
        if (shares.Count > 0)
            steps.Add(new SharesStep(spec.Name, sourceName, shares, options));
        var exports = (id.NfsExports ?? ValueList<NfsExportSpec>.Empty).Select(e => new NfsExport(MapPath(spec, e.Path), e.Path, e.Clients, e.Options)).ToList();
        if (exports.Count > 0)
            steps.Add(new NfsExportsStep(spec.Name, exports, options));
        if (f.Mode == FailoverMode.Replace && addresses.Count > 0)
            steps.Add(new RemoveOwnAddressesStep([.. addresses.Select(a => a.Address.Interface).Distinct()], [.. addresses.Select(a => a.Address.Cidr)]));
        foreach (var (a, forced) in addresses)
        {
            // Each address announced as soon as it is added, not after the next one's duplicate address detection.
            steps.Add(new AddressStep(a, forced || force, probe, early));
            if (!a.IsIPv6)
                steps.Add(new GarpStep(a, f.Arp.Count, f.Arp.Interval, time));
        }
        n = 0;
        foreach (var s in scripts.PostFailover ?? ValueList<ScriptSpec>.Empty)
            steps.Add(new ScriptStep(s, env(ScriptEnvironment.PostFailover), abortOnFailure: false, n++));
        return steps;
    }

    private static string MapPath(JobSpec spec, string sourcePath) =>
        spec.TryMapToTarget(sourcePath, out var t) ? t : throw new InvalidOperationException($"'{sourcePath}' is not under a source path of job '{spec.Name}'");

    /// <summary>The plan as text, for `understudy failover --dry-run`.</summary>
    public static IReadOnlyList<string> Describe(IReadOnlyList<IFailoverStep> plan) =>
        [.. plan.SelectMany((s, i) => s.Describe().Select((line, j) => j == 0 ? $"{i + 1}. {s.Name}: {line}" : $"   {line}"))];
}
