using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Understudy.Bench.TransportFloor;

/// <summary>
/// Sends MiB of random bytes in 1 MiB writes from this process to a child process over loopback,
/// with TLS 1.3 (SslStream, TLS_AES_128_GCM_SHA256, the suite the agents negotiate) or plain TCP,
/// and prints each side's CPU time for the transfer alone (handshake and start-up excluded).
/// </summary>
internal static class Program
{
    private const string Usage = """
        transport-floor MIB [RUNS]      run both modes RUNS times (default 3); one TSV line per side and run:
                                        mode, run, side (send|recv), wall s, cpu s
        (transport-floor recv PORT tls|plain BYTES is the child it starts)
        """;

    private const int Chunk = 1024 * 1024;

    public static async Task<int> Main(string[] args)
    {
        try
        {
            if (args is ["recv", var port, var childMode, var bytes])
                return await ReceiveAsync(int.Parse(port, CultureInfo.InvariantCulture), childMode == "tls", long.Parse(bytes, CultureInfo.InvariantCulture));
            if (args.Length is 1 or 2 && long.TryParse(args[0], out long mib) && mib > 0)
            {
                int runs = args.Length == 2 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
                for (int run = 1; run <= runs; run++)
                {
                    foreach (var mode in new[] { "tls", "plain" })
                        await SendAsync(mode, run, mib * Chunk);
                }
                return 0;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or AuthenticationException or FormatException)
        {
            await Console.Error.WriteLineAsync("transport-floor: " + e.Message);
            return 2;
        }
        await Console.Error.WriteLineAsync(Usage);
        return 2;
    }

    private static readonly CipherSuitesPolicy Suites = new([TlsCipherSuite.TLS_AES_128_GCM_SHA256]);

    private static async Task SendAsync(string mode, int run, long total)
    {
        using var listenerProbe = new TcpListener(IPAddress.Loopback, 0);
        listenerProbe.Start();
        int port = ((IPEndPoint)listenerProbe.LocalEndpoint).Port;
        listenerProbe.Stop();
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
            start.ArgumentList.Add(typeof(Program).Assembly.Location); // run as `dotnet transport-floor.dll`
        foreach (var a in new[] { "recv", port.ToString(CultureInfo.InvariantCulture), mode, total.ToString(CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(a);
        using var child = Process.Start(start)!;
        if (await child.StandardOutput.ReadLineAsync() != "ready")
            throw new IOException("the receiving process did not start");

        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        Stream s = tcp.GetStream();
        if (mode == "tls")
        {
            var ssl = new SslStream(s, false, (_, _, _, _) => true); // the floor of the transport, not of authentication
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "floor",
                EnabledSslProtocols = SslProtocols.Tls13,
                CipherSuitesPolicy = Suites,
            });
            s = ssl;
        }
        var buf = new byte[Chunk];
        Random.Shared.NextBytes(buf);
        var (wall, cpu) = (Stopwatch.StartNew(), Process.GetCurrentProcess().TotalProcessorTime);
        for (long sent = 0; sent < total; sent += Chunk)
            await s.WriteAsync(buf);
        await s.FlushAsync();
        Report(mode, run, "send", wall.Elapsed, Process.GetCurrentProcess().TotalProcessorTime - cpu);
        // The receiver reports once it has it all; closing first could reset the connection under it
        // (data it sent, TLS 1.3 session tickets, unread here).
        Console.WriteLine((await child.StandardOutput.ReadLineAsync())?.Replace("\t0\t", $"\t{run}\t", StringComparison.Ordinal));
        await s.DisposeAsync();
        await child.WaitForExitAsync();
    }

    private static async Task<int> ReceiveAsync(int port, bool tls, long total)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        Console.WriteLine("ready");
        using var tcp = await listener.AcceptTcpClientAsync();
        listener.Stop();
        Stream s = tcp.GetStream();
        if (tls)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=transport-floor", key, HashAlgorithmName.SHA256);
            using var self = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            using var cert = X509CertificateLoader.LoadPkcs12(self.Export(X509ContentType.Pfx), null);
            var ssl = new SslStream(s);
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = cert,
                EnabledSslProtocols = SslProtocols.Tls13,
                CipherSuitesPolicy = Suites,
            });
            s = ssl;
        }
        var buf = new byte[256 * 1024];
        var (wall, cpu) = (Stopwatch.StartNew(), Process.GetCurrentProcess().TotalProcessorTime);
        for (long got = 0; got < total;)
        {
            int n = await s.ReadAsync(buf);
            if (n == 0)
                throw new IOException($"the sender closed after {got} of {total} bytes");
            got += n;
        }
        Report(tls ? "tls" : "plain", 0, "recv", wall.Elapsed, Process.GetCurrentProcess().TotalProcessorTime - cpu);
        await s.DisposeAsync();
        return 0;
    }

    private static void Report(string mode, int run, string side, TimeSpan wall, TimeSpan cpu) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{mode}\t{run}\t{side}\t{wall.TotalSeconds:F3}\t{cpu.TotalSeconds:F3}"));
}
