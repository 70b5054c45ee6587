using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Understudy.Testing;
using Xunit;

namespace Understudy.Console.Tests.Api;

public sealed class OffLoopbackTests
{
    [Fact]
    public async Task ApiBoundOffLoopback_ServesHttpsOnly_AndRefusesPlainHttp()
    {
        using var dir = new TempDir();
        var data = dir.Sub("agent");
        int port;
        using (var l = new TcpListener(IPAddress.Loopback, 0))
        {
            l.Start();
            port = ((IPEndPoint)l.LocalEndpoint).Port;
        }
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { AgentProcess.CliDll, "agent", "--data-dir", data, "--listen", "127.0.0.1:0", "--api-listen", $"0.0.0.0:{port}", "--name", "wide" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        try
        {
            var addrFile = Path.Combine(data, "api-address");
            await Wait.UntilAsync(() => File.Exists(addrFile) || p.HasExited, TimeSpan.FromSeconds(60), "agent start");
            Assert.False(p.HasExited, "agent exited");
            Assert.StartsWith("https://", File.ReadAllText(addrFile).Trim(), StringComparison.Ordinal);

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
            // Plain HTTP to the HTTPS-only port gets no HTTP answer at all: Kestrel closes the connection.
            await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync($"http://127.0.0.1:{port}/api/v1/health"));

            using var tls = new HttpClient(new SocketsHttpHandler
            {
                SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true }, // the agent's self-signed certificate; the CLI pins its ID
            });
            using var ok = await tls.GetAsync($"https://127.0.0.1:{port}/api/v1/health");
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        finally
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }
    }
}
