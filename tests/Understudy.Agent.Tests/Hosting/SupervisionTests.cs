using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Understudy.Agent.Events;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Hosting;

/// <summary>
/// Every long-running loop runs under the agent's LoopSupervisor: one that throws is reported (event 150, its job in
/// error meanwhile), restarted with back-off (151), and health and the systemd watchdog say so while it is down.
/// The throws come from the Debug-only seam UNDERSTUDY_FAULT_LOOPS (Common/FaultInjection.cs).
/// </summary>
public sealed class SupervisionTests
{
    [Fact]
    public async Task ReplicationAndCaptureLoops_Throw_AreReportedAndRestarted_JobStillMirrorsAndReplicates()
    {
        await using var pair = new AgentPair();
        pair.Source.Environment["UNDERSTUDY_FAULT_LOOPS"] = "replication,capture";
        await pair.StartAsync();
        File.WriteAllText(Path.Combine(pair.SourceData, "a.txt"), "before");
        await pair.ApplyAsync(pair.JobYaml());
        await Wait.UntilAsync(async () => (await pair.Source.CliAsync("wait", "job1", "--until", "idle", "--timeout", "5")).ExitCode == 0,
            TimeSpan.FromSeconds(120), "the job to mirror after its loops failed once each");
        Assert.Equal("before", File.ReadAllText(Path.Combine(pair.TargetData, "a.txt")));

        var events = await pair.Source.EventsAsync("job1");
        var failed = events.Where(e => e.Code() == EventCode.LoopFailed).Select(e => e.Data()!["loop"]!.GetValue<string>()).ToList();
        Assert.Contains("replication", failed);
        Assert.Contains("capture", failed);
        Assert.Contains(EventCode.LoopRestarted, events.Codes());

        File.WriteAllText(Path.Combine(pair.SourceData, "b.txt"), "after");
        (await pair.Source.CliAsync("wait", "job1", "--until", "idle", "--timeout", "60")).EnsureOk();
        Assert.Equal("after", File.ReadAllText(Path.Combine(pair.TargetData, "b.txt")));
        var (status, body) = await HealthAsync(pair.Source);
        Assert.True(status == HttpStatusCode.OK, body);
    }

    [Fact]
    public async Task LoopDown_HealthAnswers503NamingIt_WatchdogPingsStopUntilItRunsAgain()
    {
        using var dir = new TempDir();
        var name = dir.Sub("notify.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(name));
        var agent = new AgentProcess(dir.Sub("agent"), "watched");
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { AgentProcess.CliDll, "agent", "--data-dir", agent.DataDir, "--listen", agent.PeerAddress, "--api-listen", $"127.0.0.1:{agent.ApiPort}" })
            psi.ArgumentList.Add(a);
        psi.Environment["NOTIFY_SOCKET"] = name;
        psi.Environment["WATCHDOG_USEC"] = "400000";
        // Three failures in a row: down 1 s, 2 s, then 4 s (the back-off doubles).
        psi.Environment["UNDERSTUDY_FAULT_LOOPS"] = "passive-poller:3";
        using var p = Process.Start(psi)!;
        _ = p.StandardOutput.ReadToEndAsync();
        _ = p.StandardError.ReadToEndAsync();
        var datagrams = new List<string>();
        using var stop = new CancellationTokenSource();
        var receiving = Task.Run(async () =>
        {
            var buf = new byte[4096];
            try
            {
                while (true)
                {
                    int n = await listener.ReceiveAsync(buf, SocketFlags.None, stop.Token);
                    lock (datagrams)
                        datagrams.Add(Encoding.UTF8.GetString(buf, 0, n));
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        try
        {
            await Wait.UntilAsync(() => File.Exists(Path.Combine(agent.DataDir, "api-address")) || p.HasExited, TimeSpan.FromSeconds(60), "agent start");
            string body = "";
            await Wait.UntilAsync(async () =>
            {
                (var status, body) = await HealthAsync(agent);
                return status == HttpStatusCode.ServiceUnavailable;
            }, TimeSpan.FromSeconds(30), "health to report the failed loop");
            var down = JsonNode.Parse(body)!;
            Assert.False(down["ok"]!.GetValue<bool>());
            Assert.Equal("passive-poller", down["down"]![0]!["loop"]!.GetValue<string>());
            await Wait.UntilAsync(() => Said(datagrams, d => d.Contains("STATUS=loop down: passive-poller", StringComparison.Ordinal)), TimeSpan.FromSeconds(30),
                "the watchdog to say which loop is down");

            await Wait.UntilAsync(async () => (await HealthAsync(agent)).Status == HttpStatusCode.OK, TimeSpan.FromSeconds(60), "the loop to run again");
            // Pings resume once it runs: a WATCHDOG=1 after the last "down" status.
            await Wait.UntilAsync(() =>
            {
                lock (datagrams)
                {
                    int lastDown = datagrams.FindLastIndex(d => d.Contains("loop down", StringComparison.Ordinal));
                    return datagrams.Skip(lastDown + 1).Any(d => d.Split('\n').Contains("WATCHDOG=1"));
                }
            }, TimeSpan.FromSeconds(30), "watchdog pings after the loop came back");
            lock (datagrams)
                Assert.DoesNotContain(datagrams, d => d.Contains("WATCHDOG=1", StringComparison.Ordinal) && d.Contains("loop down", StringComparison.Ordinal));
        }
        finally
        {
            await stop.CancelAsync();
            await receiving;
            if (!p.HasExited)
                p.Kill(entireProcessTree: true);
        }
    }

    private static bool Said(List<string> datagrams, Func<string, bool> match)
    {
        lock (datagrams)
            return datagrams.Any(match);
    }

    /// <summary>GET /api/v1/health without a token, as a load balancer or systemd-free probe would.</summary>
    private static async Task<(HttpStatusCode Status, string Body)> HealthAsync(AgentProcess agent)
    {
        using var http = new HttpClient();
        var r = await http.GetAsync(new Uri($"http://127.0.0.1:{agent.ApiPort}/api/v1/health"));
        return (r.StatusCode, await r.Content.ReadAsStringAsync());
    }
}
