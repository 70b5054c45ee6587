using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Understudy.Agent.Common;
using Understudy.Agent.Events;
using Understudy.Testing;
using Understudy.Core.Protocol;
using Xunit;

namespace Understudy.Agent.Tests.Security;

public sealed class PeerSecurityTests
{
    /// <summary>A hand-driven TLS peer that writes whatever frames a test wants.</summary>
    private sealed class RawPeer(SslStream ssl) : IAsyncDisposable
    {
        public static async Task<RawPeer> ConnectAsync(AgentProcess target, AgentIdentity me)
        {
            var tcp = new TcpClient();
            await tcp.ConnectAsync("127.0.0.1", target.PeerPort);
            var ssl = new SslStream(tcp.GetStream());
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "understudy-agent",
                EnabledSslProtocols = SslProtocols.Tls13,
                ClientCertificates = [me.Certificate],
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            });
            return new RawPeer(ssl);
        }

        public async Task SendAsync(Message m)
        {
            var body = new ArrayBufferWriter<byte>();
            m.Write(new WireWriter(body));
            await SendRawAsync(m.Type, body.WrittenSpan.ToArray());
        }

        public async Task SendRawAsync(MessageType type, byte[] body, int? claimedLength = null)
        {
            var header = new byte[Frame.HeaderSize];
            Frame.WriteHeader(header, type, 0, claimedLength ?? body.Length);
            await ssl.WriteAsync(header);
            await ssl.WriteAsync(body);
            await ssl.FlushAsync();
        }

        /// <summary>Reads until the agent closes the connection; true when it did within the timeout.</summary>
        public async Task<bool> ClosedByPeerAsync()
        {
            var buf = new byte[65536];
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                while (await ssl.ReadAsync(buf, cts.Token) > 0)
                {
                }
                return true;
            }
            catch (IOException)
            {
                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        public ValueTask DisposeAsync() => ssl.DisposeAsync();
    }

    /// <summary>One connection attempt as <paramref name="me"/>, whatever its outcome (a refused TLS handshake throws).</summary>
    internal static async Task TryConnectAsync(AgentProcess target, AgentIdentity me)
    {
        try
        {
            await using var p = await RawPeer.ConnectAsync(target, me);
            await p.SendAsync(new Hello(Hello.CurrentVersion, Hello.CurrentVersion, "stranger"));
            await p.ClosedByPeerAsync();
        }
        catch (Exception e) when (e is IOException or AuthenticationException or SocketException)
        {
        }
    }

    private static byte[] PathBody(string path)
    {
        var w = new ArrayBufferWriter<byte>();
        new WireWriter(w).Bytes(Encoding.UTF8.GetBytes(path));
        return w.WrittenSpan.ToArray();
    }


    [Fact]
    public async Task UntrustedPeer_IsRefusedAtHandshake_AndRecordedAsSecurityEvent()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        using var stranger = AgentIdentity.LoadOrCreate(Directory.CreateDirectory(pair.Dir.Sub("stranger")).FullName);
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var p = await RawPeer.ConnectAsync(pair.Target, stranger);
            await p.SendAsync(new Hello(Hello.CurrentVersion, Hello.CurrentVersion, "stranger"));
            Assert.True(await p.ClosedByPeerAsync());
            throw new IOException("closed");
        });
        await Wait.UntilAsync(async () => (await pair.Target.EventsAsync(limit: 200)).Any(e => e.Code() == EventCode.PeerUntrusted && e.Message().Contains(stranger.Id, StringComparison.Ordinal)),
            TimeSpan.FromSeconds(20), "security event");
        Assert.Contains(await pair.Target.EventsAsync(limit: 200), e => e.Code() == EventCode.PeerUntrusted && e["severity"]!.GetValue<string>() == "security");
    }

    [Theory]
    [InlineData("escape")]
    [InlineData("absolute")]
    [InlineData("garbage")]
    [InlineData("oversized")]
    [InlineData("unknown-type")]
    [InlineData("unexpected")]
    public async Task HostilePeer_IsCutOff_WritesNothing_AgentSurvives(string attack)
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        using var hostile = AgentIdentity.LoadOrCreate(Directory.CreateDirectory(pair.Dir.Sub("hostile")).FullName);
        (await pair.Target.CliAsync("trust", "add", hostile.Id, "--name", "hostile", "--root", pair.Dir.Path)).EnsureOk();
        var replica = pair.Dir.Sub("hostile-replica");
        var outside = pair.Dir.Sub("outside");
        Directory.CreateDirectory(outside);

        await using (var p = await RawPeer.ConnectAsync(pair.Target, hostile))
        {
            await p.SendAsync(new Hello(Hello.CurrentVersion, Hello.CurrentVersion, "hostile"));
            await p.SendAsync(new OpenJob("evil", replica, "hostile"));
            switch (attack)
            {
                case "escape":
                    await p.SendRawAsync(MessageType.Delete, PathBody("../outside"));
                    break;
                case "absolute":
                    await p.SendRawAsync(MessageType.Delete, PathBody(outside));
                    break;
                case "garbage":
                    await p.SendRawAsync(MessageType.FileBegin, [0xde, 0xad, 0xbe, 0xef, 1, 2, 3]);
                    break;
                case "oversized":
                    await p.SendRawAsync(MessageType.FileData, new byte[16], claimedLength: 512 * 1024 * 1024);
                    break;
                case "unknown-type":
                    await p.SendRawAsync((MessageType)200, new byte[4]);
                    break;
                case "unexpected":
                    await p.SendAsync(new Ack(5));
                    break;
            }
            Assert.True(await p.ClosedByPeerAsync(), "the agent should close the connection");
        }
        Assert.True(Directory.Exists(outside));
        Assert.Empty(Directory.EnumerateFileSystemEntries(replica));
        // The agent is still alive and serving.
        (await pair.Target.CliAsync("status")).EnsureOk();
        Assert.Contains(EventCode.PeerProtocolViolation, (await pair.Target.EventsAsync(limit: 200)).Codes());
    }
}
