using System.Net;
using Understudy.Testing;

namespace Understudy.Testing.Lab;

/// <summary>
/// A one-member etcd cluster (Debian etcd-server) on its own lab host ("wit"): the witness of the witness lab tests
/// and of bench/witness.sh. It can be killed and started again on the same data directory, as a crashed witness
/// comes back: its keys and leases survive (etcd gives every lease its full time to live again when it starts).
/// </summary>
public sealed class EtcdWitness
{
    private readonly Lab _lab;

    private EtcdWitness(Lab lab, LabHost host)
    {
        _lab = lab;
        Host = host;
    }

    public LabHost Host { get; }

    /// <summary>The etcd process now (a new one after <see cref="StartAgainAsync"/>).</summary>
    public LabProcess Process { get; private set; } = null!;

    public IPAddress Address => Host.Address;

    public string Endpoint => $"http://{Address}:2379";

    public static async Task<EtcdWitness> StartAsync(Lab lab, CancellationToken ct = default)
    {
        var w = new EtcdWitness(lab, await lab.AddHostAsync("wit", 40, ct));
        await w.StartAgainAsync(ct);
        return w;
    }

    /// <summary>Starts etcd (again, after <see cref="LabProcess.Kill"/> or a stop) and waits until it answers /health.</summary>
    public async Task StartAgainAsync(CancellationToken ct = default)
    {
        var host = Host;
        Process = _lab.StartDaemon(host, ["etcd", "--name", "wit", "--data-dir", host.Sub("etcd"),
            "--listen-client-urls", $"http://{host.Address}:2379", "--advertise-client-urls", $"http://{host.Address}:2379",
            "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
            "--initial-cluster", "wit=http://127.0.0.1:2380"]);
        await Wait.UntilAsync(async () => (await _lab.ExecAsync(host, ["curl", "-s", "-m", "1", Endpoint + "/health"], ct: ct)).Stdout.Contains("true", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "etcd to answer /health");
    }

    /// <summary>The job's <c>failover.witness</c> section (lease 3 s, renewed every second: inside four detection times of the lab's 300 ms × 3 monitor).</summary>
    public string Yaml => Section("3s", "1s");

    /// <summary>A <c>failover.witness</c> section with this lease and renewal (keys under /lab/), indented for a job's <c>failover:</c>.</summary>
    public string Section(string lease, string renew) => $"  witness: {{ endpoints: [{Endpoint}], lease: {lease}, renew: {renew}, prefix: /lab/ }}\n";
}
