using Understudy.Core.Jobs;

namespace Understudy.Agent.Identity;

/// <summary>What a stand-down did (<see cref="Dropped"/>), what was not there (<see cref="Absent"/>) and what failed, in words for an event.</summary>
internal sealed class StandDown
{
    public List<string> Dropped { get; } = [];

    public List<string> Absent { get; } = [];

    public List<string> Failed { get; } = [];
}

/// <summary>
/// The job's identity as the source host itself serves it — the service addresses its OS configures, the shares its
/// smb.conf defines, the kernel NFS exports of /etc/exports — and how the source stands down from it and back. Two
/// callers: a witness fence (Witness/SourceFence) and a returning source whose job failed over
/// (Failover/SourceDemotion). Addresses go wherever this host holds them (`ip addr del`); shares get an Understudy
/// fragment that sets <c>available = no</c> on each, after the admin's own definitions, and a reload; exports leave the
/// kernel only (SourceIdentity.Nfs.cs). The admin's own files are never edited, so standing up again is removing the
/// fragment and `exportfs -r`; the addresses come back through the reclaim (duplicate address detection first).
/// </summary>
internal sealed partial class SourceIdentity(ICommandRunner commands, IdentityOptions options, string agentName)
{
    /// <summary>One stand-down or stand-up of this host's identity at a time (held by the caller around a whole pass).</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    private static IdentitySpec Identity(JobSpec spec) => spec.Failover!.Identity;

    /// <summary>Removes each of the job's identity addresses wherever this host holds it.</summary>
    public async Task DropAddressesAsync(JobSpec spec, StandDown into, CancellationToken ct)
    {
        var id = Identity(spec);
        if (id.Addresses.Count == 0)
            return;
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
            (del.Ok ? into.Dropped : into.Failed).Add(del.Ok ? $"{cidr} on {dev}" : $"{cidr} on {dev}: {del.Output.Trim()}");
        }
    }

    private string Fragment(JobSpec spec) => SambaConfig.RenderShares(spec.Name, agentName,
        Identity(spec).Shares.Select(s => (s.Name, s.Path, (IEnumerable<(string, string)>)[("available", "no")])));

    /// <summary>
    /// Makes the job's shares unavailable; with <paramref name="onlyIfChanged"/> nothing is written or reloaded while the
    /// fragment already says so and reaches smbd (a watch that runs every few seconds).
    /// </summary>
    public async Task SharesOffAsync(JobSpec spec, StandDown into, bool onlyIfChanged, CancellationToken ct)
    {
        var id = Identity(spec);
        if (id.Shares.Count == 0)
            return;
        var samba = new SambaConfig(options);
        var fragment = Fragment(spec);
        if (onlyIfChanged && samba.Drift(samba.SharesFile(spec.Name), fragment, samba.SharesInclude) is null)
            return;
        samba.SetFragment(samba.SharesFile(spec.Name), fragment);
        var r = await commands.RunAsync(options.Smbcontrol, samba.ReloadArgs, CommandOptions.Default, ct);
        if (r.Ok)
            into.Dropped.Add("shares " + string.Join(", ", id.Shares.Select(s => s.Name)) + " (available = no)");
        // smbd is not running: nothing is served, and the fragment is read when it starts.
        else if (r.Output.Contains("Can't find pid", StringComparison.Ordinal))
            into.Dropped.Add("shares " + string.Join(", ", id.Shares.Select(s => s.Name)) + " (available = no, for when smbd starts: it is not running)");
        else
            into.Failed.Add($"smbd reload: {r.Output.Trim()}");
    }

    /// <summary>The job's shares are the admin's own definitions again (the fragment removed, smbd reloaded); nothing when there is no fragment.</summary>
    public async Task SharesOnAsync(JobSpec spec, CancellationToken ct)
    {
        if (Identity(spec).Shares.Count == 0)
            return;
        var samba = new SambaConfig(options);
        if (!File.Exists(samba.SharesFile(spec.Name)))
            return;
        samba.SetFragment(samba.SharesFile(spec.Name), null);
        await commands.RunAsync(options.Smbcontrol, samba.ReloadArgs, CommandOptions.Default, ct);
    }
}
