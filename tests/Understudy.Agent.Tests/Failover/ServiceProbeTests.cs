using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Understudy.Agent.Failover;
using Understudy.Core.Jobs;
using Xunit;

namespace Understudy.Agent.Tests.Failover;

/// <summary>
/// The HTTP and NFS probes against servers on loopback (an HTTP server, and a socket that answers an RPC call the way an
/// NFS server does). The SMB and NFS probes against real smbd and NFS-Ganesha run in the lab
/// (Understudy.Lab.Tests, ServiceProbeLabTests).
/// </summary>
public sealed class ServiceProbeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Http_StatusAndBody_DecideUp()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var served = ServeHttpAsync(listener, path => path == "/health" ? (200, "status: ok") : (503, "down"));
        var prober = new NetworkProber();
        MonitorAddress Probe(string path, string? status = null, string? body = null) =>
            new() { Address = "127.0.0.1", Method = MonitorMethod.Http, Port = port, Path = path, Status = status, Body = body };

        Assert.True(await prober.ProbeAsync(Probe("/health"), Timeout, default));
        Assert.True(await prober.ProbeAsync(Probe("/health", body: "ok"), Timeout, default));
        Assert.False(await prober.ProbeAsync(Probe("/health", body: "ready"), Timeout, default));
        Assert.False(await prober.ProbeAsync(Probe("/other"), Timeout, default));
        Assert.True(await prober.ProbeAsync(Probe("/other", status: "200,500-503"), Timeout, default));
        listener.Stop();
        await served;
        Assert.False(await prober.ProbeAsync(Probe("/health"), Timeout, default)); // refused
    }

    [Fact]
    public async Task Http_AServerThatNeverAnswers_IsAMiss_AtTheTimeout()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start(); // accepts (the kernel does) but never answers
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var probe = new MonitorAddress { Address = "127.0.0.1", Method = MonitorMethod.Http, Port = port, Path = "/" };
        Assert.False(await new NetworkProber().ProbeAsync(probe, TimeSpan.FromMilliseconds(300), default));
    }

    [Fact]
    public async Task Nfs_AnRpcReply_IsUp_APortThatOnlyAccepts_IsNot()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var probe = new MonitorAddress { Address = "127.0.0.1", Method = MonitorMethod.Nfs, Port = port };
        var prober = new NetworkProber();

        var server = AnswerRpcNullAsync(listener);
        Assert.True(await prober.ProbeAsync(probe, Timeout, default));
        var call = await server;
        Assert.Equal(100003u, BinaryPrimitives.ReadUInt32BigEndian(call.AsSpan(12))); // the NFS program
        Assert.Equal(4u, BinaryPrimitives.ReadUInt32BigEndian(call.AsSpan(16)));

        // Accepted by the kernel, never answered (a hung server): a miss at the timeout.
        Assert.False(await prober.ProbeAsync(probe, TimeSpan.FromMilliseconds(300), default));
    }

    [Fact]
    public void StatusRanges_Match()
    {
        Assert.True(ServiceProbes.StatusMatches(204, "200,204"));
        Assert.True(ServiceProbes.StatusMatches(302, "200-399"));
        Assert.False(ServiceProbes.StatusMatches(404, "200-399"));
    }

    /// <summary>Reads one RPC call (after its 4-byte record mark) and replies MSG_ACCEPTED/SUCCESS with its xid.</summary>
    private static async Task<byte[]> AnswerRpcNullAsync(TcpListener listener)
    {
        using var client = await listener.AcceptTcpClientAsync();
        var s = client.GetStream();
        var mark = new byte[4];
        await s.ReadExactlyAsync(mark);
        var call = new byte[BinaryPrimitives.ReadUInt32BigEndian(mark) & 0x7FFF_FFFF];
        await s.ReadExactlyAsync(call);
        var reply = new byte[28];
        BinaryPrimitives.WriteUInt32BigEndian(reply, 0x8000_0000u | 24);
        call.AsSpan(0, 4).CopyTo(reply.AsSpan(4)); // xid
        BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(8), 1); // REPLY; MSG_ACCEPTED, AUTH_NONE verifier, SUCCESS: zeros
        await s.WriteAsync(reply);
        return call;
    }

    private static async Task ServeHttpAsync(TcpListener listener, Func<string, (int Status, string Body)> answer)
    {
        while (true)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            using (client)
            {
                var s = client.GetStream();
                using var reader = new StreamReader(s, Encoding.ASCII, leaveOpen: true);
                var line = await reader.ReadLineAsync() ?? "";
                while (!string.IsNullOrEmpty(await reader.ReadLineAsync()))
                {
                }
                var (status, body) = answer(line.Split(' ')[1]);
                var bytes = Encoding.ASCII.GetBytes($"HTTP/1.1 {status} X\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}");
                await s.WriteAsync(bytes);
            }
        }
    }
}
