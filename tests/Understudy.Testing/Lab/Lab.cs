using System.Collections.Concurrent;
using System.Net;

namespace Understudy.Testing.Lab;

/// <summary>
/// A source, a target and a client host, each in its own network namespace, joined by a bridge
/// that lives in a fourth namespace, on a private 10.X.Y.0/24. Nothing is created in the root
/// namespace except the namespace names and an `unreachable` guard route for the subnet, so a
/// mistake fails locally instead of leaking onto the real network.
/// </summary>
public sealed partial class Lab : IAsyncDisposable
{
    public const int PrefixLength = 24;

    private static readonly ConcurrentDictionary<Lab, byte> Live = new();
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly HashSet<string> _cut = [];
    private int _nextService = 100;
    private int _tornDown;

    static Lab() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        // A test host that exits normally with labs still up (a crashed fixture) cleans them;
        // a killed one is handled by the sweeper of the next run.
        foreach (var lab in Live.Keys)
            lab.TearDown();
    };

    private Lab(LabId id)
    {
        Id = id;
        Dir = id.TempDir(Environment.ProcessId);
        Bridge = id.Namespace("br");
        Source = NewHost("src", 10);
        Target = NewHost("tgt", 20);
        Client = NewHost("cli", 30);
    }

    public LabId Id { get; }

    public string Subnet => Id.Subnet;

    /// <summary>The namespace holding the bridge `br0` and the hosts' bridge ports.</summary>
    public string Bridge { get; }

    public LabHost Source { get; }

    public LabHost Target { get; }

    public LabHost Client { get; }

    public IReadOnlyList<LabHost> Hosts
    {
        get
        {
            lock (_extra)
                return [Source, Target, Client, .. _extra];
        }
    }

    private readonly List<LabHost> _extra = [];

    /// <summary>
    /// One more host on the lab bridge (e.g. "wit" for an etcd witness), built as the others are; its namespace is
    /// named like theirs, so the sweeper removes it with the lab.
    /// </summary>
    public async Task<LabHost> AddHostAsync(string role, int octet, CancellationToken ct = default)
    {
        var h = NewHost(role, octet);
        lock (_extra)
            _extra.Add(h);
        await BuildHostAsync(h, ct);
        return h;
    }

    /// <summary>Scratch dir of the whole lab; each host has a sub dir.</summary>
    public string Dir { get; }

    /// <summary>A fresh address on the lab subnet held by no host yet (for service addresses).</summary>
    public IPAddress NewServiceAddress() => Id.Address(Interlocked.Increment(ref _nextService));

    /// <summary>Builds a new lab; removes the leftovers of dead runs first.</summary>
    public static async Task<Lab> CreateAsync(CancellationToken ct = default)
    {
        LabSweeper.SweepStale();
        var lab = new Lab(await ClaimSubnetAsync(ct));
        Live[lab] = 0;
        try
        {
            await lab.BuildAsync(ct);
            return lab;
        }
        catch
        {
            lab.TearDown();
            throw;
        }
    }

    /// <summary>Hands a service (smbd, agent...) to the lab so it is stopped before the namespaces go.</summary>
    public T Own<T>(T service)
        where T : IAsyncDisposable
    {
        lock (_owned)
            _owned.Add(service);
        return service;
    }

    public async ValueTask DisposeAsync()
    {
        IAsyncDisposable[] owned;
        lock (_owned)
            owned = [.. _owned];
        // Newest first: a service goes before what it was started on top of.
        foreach (var s in owned.Reverse())
        {
            try
            {
                await s.DisposeAsync();
            }
            catch (Exception e) when (e is LabException or InvalidOperationException or TimeoutException or IOException)
            {
                // Tear-down must go on: whatever survives is killed with its namespace below.
            }
        }
        TearDown();
    }

    private LabHost NewHost(string role, int octet) => new(this, role, Id.Namespace(role), Id.Address(octet), Path.Combine(Dir, role));

    /// <summary>
    /// Picks a random 10.X.Y.0/24 that no route on this machine touches, and claims it atomically
    /// by creating the bridge namespace (its name is the subnet). The guard route goes in first,
    /// with this PID as its metric, so a sweeper never mistakes a lab being built for a dead one.
    /// </summary>
    private static async Task<LabId> ClaimSubnetAsync(CancellationToken ct)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var id = new LabId(Random.Shared.Next(100, 250), Random.Shared.Next(0, 256));
            var covering = await Shell.RunAsync(["ip", "-4", "route", "show", "match", id.Subnet], ct: ct);
            var inside = await Shell.RunAsync(["ip", "-4", "route", "show", "root", id.Subnet], ct: ct);
            var used = covering.Stdout.Split('\n').Any(l => l.Length > 0 && !l.StartsWith("default", StringComparison.Ordinal)) || inside.Stdout.Trim().Length > 0;
            if (used)
                continue;
            var metric = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if ((await Shell.RunAsync(["ip", "route", "add", "unreachable", id.Subnet, "metric", metric], ct: ct)).ExitCode != 0)
                continue;
            if ((await Shell.RunAsync(["ip", "netns", "add", id.Namespace("br")], ct: ct)).ExitCode == 0)
                return id;
            Shell.Run(["ip", "route", "del", "unreachable", id.Subnet, "metric", metric]);
        }
        throw new LabException("no free 10.X.Y.0/24 lab subnet after 50 attempts");
    }

    private async Task BuildAsync(CancellationToken ct)
    {
        Directory.CreateDirectory(Dir);
        await Shell.RunOkAsync(["ip", "-n", Bridge, "link", "set", "lo", "up"], ct);
        await Shell.RunOkAsync(["ip", "-n", Bridge, "link", "add", "br0", "type", "bridge"], ct);
        await Shell.RunOkAsync(["ip", "-n", Bridge, "link", "set", "br0", "up"], ct);
        foreach (var h in Hosts)
            await BuildHostAsync(h, ct);
    }

    private async Task BuildHostAsync(LabHost h, CancellationToken ct)
    {
        {
            Directory.CreateDirectory(h.Dir);
            await Shell.RunOkAsync(["ip", "netns", "add", h.Namespace], ct);
            await Shell.RunOkAsync(["ip", "-n", h.Namespace, "link", "set", "lo", "up"], ct);
            // Created straight into the two namespaces: no veth end ever exists in the root namespace.
            await Shell.RunOkAsync(["ip", "-n", Bridge, "link", "add", h.BridgePort, "type", "veth", "peer", "name", h.Interface, "netns", h.Namespace], ct);
            await Shell.RunOkAsync(["ip", "-n", Bridge, "link", "set", h.BridgePort, "master", "br0", "up"], ct);
            // Without promote_secondaries, removing a primary address silently drops the service
            // addresses added after it.
            await Shell.RunOkAsync(["ip", "netns", "exec", h.Namespace, "sh", "-c",
                "for c in all default eth0; do echo 1 > /proc/sys/net/ipv4/conf/$c/promote_secondaries; done"], ct);
            await Shell.RunOkAsync(["ip", "-n", h.Namespace, "addr", "add", $"{h.Address}/{PrefixLength}", "dev", h.Interface], ct);
            await Shell.RunOkAsync(["ip", "-n", h.Namespace, "link", "set", h.Interface, "up"], ct);
            // The anchor also holds the host's own UTS namespace (its host name): agents run in it (LabAgent), so a
            // host name change by a fail-over in mode replace renames this lab host, never the machine.
            var anchor = LabProcess.Start(h, ["unshare", "--uts", "--", "sh", "-c", "hostname \"$0\" && exec sleep infinity", h.Hostname]);
            h.AnchorPid = anchor.Pid;
            Own(anchor);
        }
    }

    /// <summary>Idempotent and synchronous, so Dispose, a failed build and process exit can all call it.</summary>
    private void TearDown()
    {
        if (Interlocked.Exchange(ref _tornDown, 1) != 0)
            return;
        LabSweeper.Destroy(Id, Environment.ProcessId);
        Live.TryRemove(this, out _);
    }
}
