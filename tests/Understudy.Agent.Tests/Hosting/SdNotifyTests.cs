using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Hosting;

/// <summary>The agent as a Type=notify service, against a fake NOTIFY_SOCKET (PID 1 here is not systemd).</summary>
public sealed class SdNotifyTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Agent_SendsReadyOnceApiServes_AndStoppingOnSigterm(bool abstractNamespace)
    {
        using var dir = new TempDir();
        var name = abstractNamespace ? "@understudy-test-" + Guid.NewGuid().ToString("N")[..12] : dir.Sub("notify.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(abstractNamespace ? "\0" + name[1..] : name));

        var agent = new AgentProcess(dir.Sub("agent"), "notified");
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { AgentProcess.CliDll, "agent", "--data-dir", agent.DataDir, "--listen", agent.PeerAddress, "--api-listen", $"127.0.0.1:{agent.ApiPort}" })
            psi.ArgumentList.Add(a);
        psi.Environment["NOTIFY_SOCKET"] = name;
        psi.Environment.Remove("JOURNAL_STREAM");
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            var ready = await ReceiveAsync(listener, p);
            Assert.Contains("READY=1", ready.Split('\n'));
            // READY means serving: the API answers at once, with no retry.
            var token = (await File.ReadAllTextAsync(Path.Combine(agent.DataDir, "api-token"))).Trim();
            using var http = new HttpClient();
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            var health = await http.GetAsync(new Uri($"http://127.0.0.1:{agent.ApiPort}/api/v1/health"));
            Assert.True(health.IsSuccessStatusCode, $"API not serving after READY=1: {health.StatusCode}");

            Assert.Equal(0, Native.Kill(p.Id, 15));
            var stopping = await ReceiveAsync(listener, p);
            Assert.Contains("STOPPING=1", stopping.Split('\n'));
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, p.ExitCode);

            // Not a terminal: no ANSI colour escapes in the log.
            var log = await stdout + await stderr;
            Assert.DoesNotContain("\u001b[", log, StringComparison.Ordinal);
        }
        finally
        {
            if (!p.HasExited)
                p.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task Agent_UnderJournal_PrefixesSyslogPriorities()
    {
        using var dir = new TempDir();
        var agent = new AgentProcess(dir.Sub("agent"), "journald");
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { AgentProcess.CliDll, "agent", "--data-dir", agent.DataDir, "--listen", agent.PeerAddress, "--api-listen", $"127.0.0.1:{agent.ApiPort}" })
            psi.ArgumentList.Add(a);
        psi.Environment["JOURNAL_STREAM"] = "8:12345";
        psi.Environment.Remove("NOTIFY_SOCKET");
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            var addr = Path.Combine(agent.DataDir, "api-address");
            await Wait.UntilAsync(() => File.Exists(addr) || p.HasExited, TimeSpan.FromSeconds(60), "agent start");
            Assert.Equal(0, Native.Kill(p.Id, 15));
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            var lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.NotEmpty(lines);
            // Every entry is one line starting "<N>" (syslog priority), as journald parses it.
            Assert.All(lines, l => Assert.Matches(@"^<[0-7]>", l));
            Assert.DoesNotContain("\u001b[", await stdout + await stderr, StringComparison.Ordinal);
        }
        finally
        {
            if (!p.HasExited)
                p.Kill(entireProcessTree: true);
        }
    }

    private static async Task<string> ReceiveAsync(Socket listener, Process agent)
    {
        var buf = new byte[4096];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            int n = await listener.ReceiveAsync(buf, SocketFlags.None, cts.Token);
            return Encoding.UTF8.GetString(buf, 0, n);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no sd_notify datagram from the agent (exited: {agent.HasExited})");
        }
    }
}
