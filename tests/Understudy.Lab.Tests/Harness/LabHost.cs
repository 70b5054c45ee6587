using System.Net;

namespace Understudy.LabTests.Harness;

/// <summary>
/// One lab host: a network namespace with `eth0` (one end of a veth pair whose other end,
/// `p-NAME`, is a port of the lab bridge), its own address on the lab subnet and a temp dir.
/// </summary>
internal sealed class LabHost
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

    /// <summary>
    /// PID of a `sleep infinity` kept in the namespace: /proc/PID/net/* shows this namespace's
    /// view without spawning anything, which keeps the address poller cheap.
    /// </summary>
    internal int AnchorPid { get; set; }

    public string Sub(string name) => Path.Combine(Dir, name);

    public override string ToString() => Name;
}
