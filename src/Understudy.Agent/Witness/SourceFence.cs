using Understudy.Agent.Common;
using Understudy.Agent.Events;
using Understudy.Agent.Identity;
using Understudy.Core.Jobs;

namespace Understudy.Agent.Witness;

/// <summary>
/// What a source that lost its witness lease gives up, at once: each of the job's identity addresses wherever this host
/// holds it (`ip addr del`), then its shares (an Understudy share fragment that sets <c>available = no</c> on each, after
/// the admin's own definitions, and a reload), then its NFS exports (SourceFence.Nfs.cs). Unfencing gives them back through <paramref name="reclaim"/> (the
/// fail-back's own reclaim: duplicate address detection first, then gratuitous ARP) and removes the fragment.
/// The fenced mark is kept in the state store (<c>kv witness-fenced/JOB</c>), so a restart does not forget it.
/// </summary>
internal sealed partial class SourceFence(AgentContext ctx, ICommandRunner commands, IdentityOptions options, Func<JobSpec, CancellationToken, Task<string?>> reclaim)
{
    private static string Key(string job) => "witness-fenced/" + job;

    public bool IsFenced(string job) => ctx.Store.GetValue(Key(job)) is { } v && v != "null";

    public async Task FenceAsync(JobSpec spec, string why, CancellationToken ct)
    {
        ctx.Store.SetValue(Key(spec.Name), System.Text.Json.JsonSerializer.Serialize(why));
        var id = spec.Failover!.Identity;
        var dropped = new List<string>();
        var failed = new List<string>();
        if (id.Addresses.Count > 0)
        {
            var r = await commands.RunAsync(options.Ip, ["-o", "addr", "show", "scope", "global"], CommandOptions.Default, ct);
            foreach (var line in r.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var t = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                if (t.Length < 4)
                    continue;
                var dev = t[1].TrimEnd(':').Split('@')[0];
                var cidr = IpAddr.ParseCidrs(line).FirstOrDefault();
                if (cidr is null || !id.Addresses.Any(a => IpAddr.SameAddress(a.Address, cidr)))
                    continue;
                var del = await commands.RunAsync(options.Ip, IpAddr.Del(new InterfaceAddress(cidr, dev)), CommandOptions.Default, ct);
                (del.Ok ? dropped : failed).Add(del.Ok ? $"{cidr} on {dev}" : $"{cidr} on {dev}: {del.Output.Trim()}");
            }
        }
        if (id.Shares.Count > 0)
        {
            var samba = new SambaConfig(options);
            samba.SetFragment(samba.SharesFile(spec.Name), SambaConfig.RenderShares(spec.Name, ctx.AgentName,
                id.Shares.Select(s => (s.Name, s.Path, (IEnumerable<(string, string)>)[("available", "no")]))));
            var r = await commands.RunAsync(options.Smbcontrol, samba.ReloadArgs, CommandOptions.Default, ct);
            if (r.Ok)
                dropped.Add("shares " + string.Join(", ", id.Shares.Select(s => s.Name)) + " (available = no)");
            else
                failed.Add($"smbd reload: {r.Output.Trim()}");
        }
        await DropExportsAsync(spec, dropped, failed, ct);
        ctx.Events.Record(EventCode.WitnessFenced, Severity.Error, "witness", spec.Name,
            $"fenced: {why}; dropped {(dropped.Count == 0 ? "nothing (no identity address was on this host)" : string.Join(", ", dropped))}. "
            + "The job's service stays off here until the witness key is this source's again (or, after a take-over, until fail-back)");
        if (failed.Count > 0)
            ctx.Events.Record(EventCode.WitnessFenceFailed, Severity.Error, "witness", spec.Name, $"fencing failed in part: {string.Join("; ", failed)}: remove what is left of the identity by hand now (the target may take over once the lease expires)");
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
        if (id.Shares.Count > 0)
        {
            var samba = new SambaConfig(options);
            samba.SetFragment(samba.SharesFile(spec.Name), null);
            await commands.RunAsync(options.Smbcontrol, samba.ReloadArgs, CommandOptions.Default, ct);
        }
        await RestoreExportsAsync(spec, ct);
        ctx.Store.SetValue(Key(spec.Name), "null");
        ctx.Events.Record(EventCode.WitnessUnfenced, Severity.Info, "witness", spec.Name,
            $"the witness key is this source's again: identity reclaimed ({string.Join(", ", id.Addresses.Select(a => a.Address))}{(id.Shares.Count > 0 ? ", shares available" : "")}{(Exports(spec).Count > 0 ? ", NFS exports again (exportfs -r)" : "")})");
        return true;
    }

    /// <summary>A job no longer fenced by the witness (removed, or fail-back took its identity back another way).</summary>
    public void Forget(string job) => ctx.Store.SetValue(Key(job), "null");
}
