using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Understudy.Agent.Events;
using Understudy.Agent.Identity;
using Understudy.Agent.Witness;
using Understudy.Core.Jobs;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Witness;

/// <summary>
/// Fail-back's "release the witness key" step against a real etcd on loopback: a witness that does not answer is
/// tried again for a bounded time (before, the first failure aborted the fail-back), and past the bound the step
/// aborts with what to do.
/// </summary>
public sealed class WitnessReleaseStepTests : IAsyncDisposable
{
    private readonly TempDir _dir = new();
    private readonly int _port = FreePort();
    private readonly int _peerPort = FreePort();
    private readonly List<(EventCode Code, string Severity, string Message)> _events = [];
    private Process? _etcd;

    private string Endpoint => $"http://127.0.0.1:{_port}";

    private TargetClaim NewClaim() => new(new WitnessKey(new WitnessSpec { Endpoints = ValueList.Of(Endpoint), Renew = TimeSpan.FromSeconds(1) }, "src-id", "web"),
        "tgt-id", TimeProvider.System, new ClaimReport((c, s, m) =>
        {
            lock (_events)
                _events.Add((c, s, m));
        }, _ => { }));

    private StepContext Context() => new("web", ProcessCommandRunner.Instance, new IdentityOptions(), (c, s, m, _) =>
    {
        lock (_events)
            _events.Add((c, s, m));
    }, _ => { });

    [Fact]
    public async Task WitnessDown_ThenBack_TheStepRetriesAndReleases()
    {
        await StartEtcdAsync();
        var claim = NewClaim();
        Assert.Equal(ClaimOutcome.Won, (await claim.TryTakeAsync(CancellationToken.None)).Outcome);
        StopEtcd();

        var step = new WitnessReleaseStep(claim, TimeProvider.System) { Bound = TimeSpan.FromSeconds(90) };
        var apply = step.ApplyAsync(Context(), CancellationToken.None);
        await Wait.UntilAsync(() => HasEvent(EventCode.WitnessReleaseRetrying), TimeSpan.FromSeconds(30), "the step to say it tries again");
        Assert.False(apply.IsCompleted);
        await StartEtcdAsync();
        await apply.WaitAsync(TimeSpan.FromSeconds(90));

        Assert.Null(await new EtcdClient([Endpoint], TimeSpan.FromSeconds(5)).GetAsync(claim.Key.Key, CancellationToken.None));
        Assert.True(HasEvent(EventCode.WitnessReleaseRecovered));
        Assert.Equal("released", claim.View().State);
    }

    [Fact]
    public async Task WitnessDown_PastTheBound_AbortsTheFailback_SayingWhatToRun()
    {
        var step = new WitnessReleaseStep(NewClaim(), TimeProvider.System) { Bound = TimeSpan.FromSeconds(3) };
        var e = await Assert.ThrowsAsync<StepFailedException>(() => step.ApplyAsync(Context(), CancellationToken.None));
        Assert.True(e.Abort);
        Assert.Contains("the fail-back is undone", e.Message, StringComparison.Ordinal);
        Assert.Contains("understudy failback web", e.Message, StringComparison.Ordinal);
        lock (_events)
            Assert.Single(_events, x => x.Code == EventCode.WitnessReleaseRetrying);
    }

    private bool HasEvent(EventCode code)
    {
        lock (_events)
            return _events.Any(e => e.Code == code);
    }

    private async Task StartEtcdAsync()
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

    private void StopEtcd()
    {
        if (_etcd is null)
            return;
        _etcd.Kill(entireProcessTree: true);
        _etcd.WaitForExit();
        _etcd.Dispose();
        _etcd = null;
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public ValueTask DisposeAsync()
    {
        StopEtcd();
        _dir.Dispose();
        return ValueTask.CompletedTask;
    }
}
