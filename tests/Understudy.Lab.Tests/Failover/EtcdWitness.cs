using System.Net;
using Understudy.Testing;
using Understudy.Testing.Lab;

namespace Understudy.LabTests.Failover;

/// <summary>A one-member etcd cluster (Debian etcd-server) on its own lab host ("wit"), the witness of the witness lab tests.</summary>
internal sealed class EtcdWitness
{
    private EtcdWitness(LabHost host, LabProcess process)
    {
        Host = host;
        Process = process;
    }

    public LabHost Host { get; }

    public LabProcess Process { get; }

    public IPAddress Address => Host.Address;

    public string Endpoint => $"http://{Address}:2379";

    public static async Task<EtcdWitness> StartAsync(Lab lab, CancellationToken ct = default)
    {
        var host = await lab.AddHostAsync("wit", 40, ct);
        var process = lab.StartDaemon(host, ["etcd", "--name", "wit", "--data-dir", host.Sub("etcd"),
            "--listen-client-urls", $"http://{host.Address}:2379", "--advertise-client-urls", $"http://{host.Address}:2379",
            "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
            "--initial-cluster", "wit=http://127.0.0.1:2380"]);
        var w = new EtcdWitness(host, process);
        await Wait.UntilAsync(async () => (await lab.ExecAsync(host, ["curl", "-s", "-m", "1", w.Endpoint + "/health"], ct: ct)).Stdout.Contains("true", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "etcd to answer /health");
        return w;
    }

    /// <summary>The job's <c>failover.witness</c> section (lease 3 s, renewed every second: inside four detection times of the lab's 300 ms × 3 monitor).</summary>
    public string Yaml => $"  witness: {{ endpoints: [{Endpoint}], lease: 3s, renew: 1s, prefix: /lab/ }}\n";
}
