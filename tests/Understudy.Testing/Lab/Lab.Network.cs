using System.Net;
using Understudy.Testing;

namespace Understudy.Testing.Lab;

/// <summary>Driving the lab network: commands in a host, cutting links, moving addresses.</summary>
public sealed partial class Lab
{
    /// <summary>Runs a command inside the host's namespace (`ip netns exec`).</summary>
    public Task<CliResult> ExecAsync(LabHost host, IReadOnlyList<string> argv, TimeSpan? timeout = null, CancellationToken ct = default) =>
        Shell.RunAsync(["ip", "netns", "exec", host.Namespace, .. argv], timeout, ct);

    public async Task<CliResult> ExecOkAsync(LabHost host, IReadOnlyList<string> argv, CancellationToken ct = default)
    {
        var r = await ExecAsync(host, argv, ct: ct);
        if (r.ExitCode != 0)
            throw new LabException($"in {host}: `{string.Join(' ', argv)}` failed ({r.ExitCode}): {r.Stderr}{r.Stdout}");
        return r;
    }

    /// <summary>Starts a daemon in the host's namespace; the lab stops it on dispose unless its owner does first.</summary>
    public LabProcess StartDaemon(LabHost host, IReadOnlyList<string> argv) => Own(LabProcess.Start(host, argv));

    /// <summary>
    /// Takes the host's bridge port down: the host keeps its addresses and processes but hears
    /// and reaches nothing, as with a pulled cable or a dead switch port.
    /// </summary>
    public async Task CutLinkAsync(LabHost host, CancellationToken ct = default)
    {
        await Shell.RunOkAsync(["ip", "-n", Bridge, "link", "set", host.BridgePort, "down"], ct);
        lock (_cut)
            _cut.Add(host.Name);
    }

    public async Task RestoreLinkAsync(LabHost host, CancellationToken ct = default)
    {
        await Shell.RunOkAsync(["ip", "-n", Bridge, "link", "set", host.BridgePort, "up"], ct);
        lock (_cut)
            _cut.Remove(host.Name);
    }

    public bool IsCut(LabHost host)
    {
        lock (_cut)
            return _cut.Contains(host.Name);
    }

    public Task AddAddressAsync(LabHost host, IPAddress address, CancellationToken ct = default) =>
        Shell.RunOkAsync(["ip", "-n", host.Namespace, "addr", "add", $"{address}/{PrefixLength}", "dev", host.Interface], ct);

    public Task RemoveAddressAsync(LabHost host, IPAddress address, CancellationToken ct = default) =>
        Shell.RunOkAsync(["ip", "-n", host.Namespace, "addr", "del", $"{address}/{PrefixLength}", "dev", host.Interface], ct);

    /// <summary>
    /// Gratuitous ARP with iputils-arping (`-U`; Habets' arping takes other flags). The first
    /// packet goes at once; the rest follow every <paramref name="intervalSeconds"/> (iputils
    /// 20221126 takes whole seconds only: `-i 0.2` is refused), so callers that measure a move
    /// should start it and probe at once, and await the task afterwards.
    /// </summary>
    public Task<CliResult> GratuitousArpAsync(LabHost host, IPAddress address, int count = 3, int intervalSeconds = 1, CancellationToken ct = default) =>
        ExecAsync(host, ["arping", "-q", "-U", "-c", count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-i", intervalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "-I", host.Interface, address.ToString()], ct: ct);

    /// <summary>
    /// A second, direct link between the source and the target (`eth1` on both; no bridge, no client): a back-end
    /// network for replication. Mode replace needs one: the target gives up every address of its own on the
    /// interface that receives the source's, so the passive source must reach it for the restore another way.
    /// The addresses are a /30 inside the lab subnet (.201 source, .202 target), so the root namespace's guard
    /// route covers them too.
    /// </summary>
    public async Task<(IPAddress Source, IPAddress Target)> AddBackEndLinkAsync(CancellationToken ct = default)
    {
        var ends = (Source: Id.Address(201), Target: Id.Address(202));
        await Shell.RunOkAsync(["ip", "-n", Source.Namespace, "link", "add", BackEndInterface, "type", "veth", "peer", "name", BackEndInterface, "netns", Target.Namespace], ct);
        foreach (var (host, address) in new[] { (Source, ends.Source), (Target, ends.Target) })
        {
            await Shell.RunOkAsync(["ip", "-n", host.Namespace, "addr", "add", $"{address}/30", "dev", BackEndInterface], ct);
            await Shell.RunOkAsync(["ip", "-n", host.Namespace, "link", "set", BackEndInterface, "up"], ct);
        }
        return ends;
    }

    public const string BackEndInterface = "eth1";

    /// <summary>One ICMP echo with a 1 s deadline.</summary>
    public async Task<bool> PingAsync(LabHost from, IPAddress address, CancellationToken ct = default) =>
        (await ExecAsync(from, ["ping", "-n", "-q", "-c", "1", "-W", "1", address.ToString()], ct: ct)).ExitCode == 0;

    /// <summary>
    /// The hosts on which <paramref name="address"/> is configured right now (whether or not their
    /// link is cut). Read from each namespace's local routing table through /proc, with no process
    /// spawned, so it can be polled every few milliseconds.
    /// </summary>
    public IReadOnlyList<LabHost> AddressHolders(IPAddress address) =>
        [.. Hosts.Where(h => LocalAddresses.Of(h.AnchorPid).Contains(address))];

    /// <summary>Starts polling who holds <paramref name="address"/>; see <see cref="AddressWatch"/>.</summary>
    public AddressWatch WatchAddress(IPAddress address, TimeSpan? interval = null) =>
        Own(new AddressWatch(this, address, interval ?? TimeSpan.FromMilliseconds(5)));
}
