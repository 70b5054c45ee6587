using System.Net;

namespace Understudy.Testing.Lab;

/// <summary>
/// One lab host: a network namespace with `eth0` (one end of a veth pair whose other end,
/// `p-NAME`, is a port of the lab bridge), its own address on the lab subnet and a temp dir.
/// </summary>
public sealed class LabHost
{
    internal LabHost(Lab lab, string name, string ns, IPAddress address, string dir)
    {
        Lab = lab;
        Name = name;
        Namespace = ns;
        Address = address;
        Dir = dir;
    }

    public Lab Lab { get; }

    /// <summary>Role name: "src", "tgt" or "cli".</summary>
    public string Name { get; }

    public string Namespace { get; }

    /// <summary>The host's own (fixed) address; service addresses are added beside it.</summary>
    public IPAddress Address { get; }

    public string Interface => "eth0";

    /// <summary>The bridge-side end of this host's veth pair, in the bridge namespace.</summary>
    public string BridgePort => "p-" + Name;

    /// <summary>Per-host scratch dir (service configs, state, data); removed with the lab.</summary>
    public string Dir { get; }

    /// <summary>The host name the host starts with, in its own UTS namespace (`lab-src`, `lab-tgt`, `lab-cli`).</summary>
    public string Hostname => "lab-" + Name;

    /// <summary>
    /// PID of a `sleep infinity` kept in the namespace: /proc/PID/net/* shows this namespace's
    /// view without spawning anything, which keeps the address poller cheap. It also holds the
    /// host's UTS namespace (`nsenter --target PID --uts`), since `ip netns exec` shares the machine's.
    /// </summary>
    internal int AnchorPid { get; set; }

    /// <summary>argv prefix that runs a program in this host's UTS namespace (nsenter execs in place: the PID stays the program's).</summary>
    internal string[] InUts => AnchorPid > 0
        ? ["nsenter", "--target", AnchorPid.ToString(System.Globalization.CultureInfo.InvariantCulture), "--uts", "--"]
        : throw new LabException($"lab host {Name} has no anchor process yet");

    /// <summary>The host name as programs in this host see it.</summary>
    public async Task<string> HostnameNowAsync(CancellationToken ct = default)
    {
        var r = await Shell.RunAsync([.. InUts, "hostname"], ct: ct);
        return r.ExitCode == 0 ? r.Stdout.Trim() : throw new LabException($"hostname in {Name}'s UTS namespace: exit {r.ExitCode}: {r.Stderr}");
    }

    public string Sub(string name) => Path.Combine(Dir, name);

    public override string ToString() => Name;
}
