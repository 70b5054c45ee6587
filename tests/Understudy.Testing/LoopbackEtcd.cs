using System.Diagnostics;

namespace Understudy.Testing;

/// <summary>
/// A one-member etcd (Debian etcd-server) on loopback, for a test's <c>failover.witness</c> without the lab's network
/// namespaces. It can be stopped and started again on the same data directory, as a witness that went away comes back.
/// </summary>
public sealed class LoopbackEtcd : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly int _port = Ports.Free();
    private readonly int _peerPort = Ports.Free();
    private Process? _etcd;

    public string Endpoint => $"http://127.0.0.1:{_port}";

    /// <summary>Starts etcd (again, after <see cref="Stop"/>) and waits until it answers /health.</summary>
    public async Task StartAsync()
    {
        var psi = new ProcessStartInfo("etcd") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--name", "t", "--data-dir", _dir.Sub("etcd"), "--listen-client-urls", Endpoint, "--advertise-client-urls", Endpoint,
            "--listen-peer-urls", $"http://127.0.0.1:{_peerPort}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{_peerPort}", "--initial-cluster", $"t=http://127.0.0.1:{_peerPort}" })
            psi.ArgumentList.Add(a);
        _etcd = Process.Start(psi)!;
        _etcd.OutputDataReceived += (_, _) => { };
        _etcd.ErrorDataReceived += (_, _) => { };
        _etcd.BeginOutputReadLine();
        _etcd.BeginErrorReadLine();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        await Wait.UntilAsync(async () =>
        {
            try
            {
                return (await http.GetStringAsync(Endpoint + "/health")).Contains("true", StringComparison.Ordinal);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30), "etcd to answer /health");
    }

    public void Stop()
    {
        if (_etcd is null)
            return;
        _etcd.Kill(entireProcessTree: true);
        _etcd.WaitForExit();
        _etcd.Dispose();
        _etcd = null;
    }

    public void Dispose()
    {
        Stop();
        _dir.Dispose();
    }
}
