using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Understudy.Agent.Common;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Peer;

/// <summary>Raised when a peer cannot be reached or refuses us. <see cref="IsTransient"/> tells retry logic whether to try again.</summary>
internal sealed class PeerException(string message, bool isTransient, Exception? inner = null) : Exception(message, inner)
{
    public bool IsTransient { get; } = isTransient;
}

/// <summary>TLS 1.3 with certificates on both sides, then the Hello exchange (docs/protocol.md).</summary>
internal static class PeerLink
{
    public const int DefaultPort = 7420;
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>TLS 1.3 suites, AES-128-GCM first (OpenSSL's default order puts AES-256 first):
    /// the bulk data of a mirror is encrypted once on each side, and AES-128 takes 10 rounds per
    /// block against AES-256's 14. Both are AEADs with a 128-bit tag; 128-bit keys are the TLS 1.3
    /// mandatory suite (RFC 8446 §9.1). Set on both sides, so whichever order OpenSSL honours,
    /// the result is the same.</summary>
    public static readonly CipherSuitesPolicy CipherSuites = new(
    [
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
    ]);

    /// <summary>Connects to <paramref name="address"/> and accepts only a peer whose certificate fingerprint is <paramref name="expectedId"/>.</summary>
    public static async Task<PeerConnection> ConnectAsync(string address, string expectedId, AgentIdentity me, string myName, PeerHeartbeat? heartbeat, CancellationToken cancellationToken)
    {
        var (host, port) = ParseAddress(address, DefaultPort);
        var tcp = new TcpClient { NoDelay = true };
        string? seenId = null;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(HandshakeTimeout);
            try
            {
                await tcp.ConnectAsync(host, port, timeout.Token);
            }
            catch (SocketException e)
            {
                throw new PeerException($"cannot connect to {address}: {e.Message}", isTransient: true, e);
            }
            var ssl = new SslStream(new ReadAheadStream(tcp.GetStream()), leaveInnerStreamOpen: false);
            try
            {
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = "understudy-agent",
                    EnabledSslProtocols = SslProtocols.Tls13,
                    CipherSuitesPolicy = CipherSuites,
                    ClientCertificates = [me.Certificate],
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                    RemoteCertificateValidationCallback = (_, cert, _, _) =>
                    {
                        seenId = cert is null ? null : AgentIdentity.FingerprintOf(cert);
                        return string.Equals(seenId, expectedId, StringComparison.OrdinalIgnoreCase);
                    },
                }, timeout.Token);
            }
            catch (AuthenticationException e)
            {
                await ssl.DisposeAsync();
                var why = seenId is not null && !string.Equals(seenId, expectedId, StringComparison.OrdinalIgnoreCase)
                    ? $"peer at {address} presented ID {seenId}, expected {expectedId}"
                    : $"TLS handshake with {address} failed (is this agent trusted there? run 'understudy trust add {me.Id}' on it): {e.Message}";
                throw new PeerException(why, isTransient: false, e);
            }
            catch (IOException e)
            {
                await ssl.DisposeAsync();
                throw new PeerException($"TLS handshake with {address} failed: the peer closed the connection (is this agent trusted there? run 'understudy trust add {me.Id}' on it)", isTransient: true, e);
            }
            var conn = new PeerConnection(ssl, expectedId.ToLowerInvariant());
            try
            {
                await ExchangeHelloAsync(conn, myName, heartbeat, timeout.Token);
            }
            catch (Exception e) when (e is IOException or HelloMissingException)
            {
                // In TLS 1.3 the server checks this agent's certificate after the client's handshake is done: a target
                // that does not trust it answers with an alert (or just closes) where its hello should be.
                await conn.DisposeAsync();
                throw new PeerException($"the target at {address} refused this agent's certificate; run there: understudy trust add {me.Id}", isTransient: true, e);
            }
            catch
            {
                await conn.DisposeAsync();
                throw;
            }
            return conn;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            tcp.Dispose();
            throw new PeerException($"timed out connecting to {address}", isTransient: true);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    /// <summary>Both sides send Hello, then read the other's; the highest common version wins. From version 4 on, the
    /// link's heartbeat starts (<paramref name="heartbeat"/> null: none, e.g. in tests).</summary>
    public static async Task<ushort> ExchangeHelloAsync(PeerConnection conn, string myName, PeerHeartbeat? heartbeat, CancellationToken cancellationToken)
    {
        await conn.SendAsync(new Hello(Hello.OldestVersion, Hello.CurrentVersion, myName), cancellationToken);
        using var frame = await conn.ReceiveAsync(cancellationToken)
            ?? throw new HelloMissingException();
        if (frame.Message is ErrorMessage err)
            throw new PeerException($"peer refused: {err.Text}", isTransient: false);
        if (frame.Message is not Hello hello)
            throw new ProtocolException($"expected hello, got {frame.Message.Type}");
        ushort version = Math.Min(hello.MaxVersion, Hello.CurrentVersion);
        if (version < Math.Max(hello.MinVersion, Hello.OldestVersion))
        {
            await conn.SendAsync(new ErrorMessage(ErrorCode.Version, $"no common protocol version (ours {Hello.OldestVersion}-{Hello.CurrentVersion}, theirs {hello.MinVersion}-{hello.MaxVersion})"), cancellationToken);
            throw new ProtocolException("no common protocol version");
        }
        conn.PeerName = hello.AgentName;
        conn.Version = version;
        // A version 3 peer would end the link on a frame type it does not know, and sends no heartbeat to watch for.
        if (version >= Hello.HeartbeatVersion && heartbeat is not null)
            conn.StartHeartbeat(heartbeat);
        return version;
    }

    public static (string Host, int Port) ParseAddress(string address, int defaultPort)
    {
        address = address.Trim();
        if (address.StartsWith('['))
        {
            int close = address.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
                throw new FormatException($"invalid address '{address}'");
            var host = address[1..close];
            var rest = address[(close + 1)..];
            return (host, rest.StartsWith(':') ? int.Parse(rest[1..], System.Globalization.CultureInfo.InvariantCulture) : defaultPort);
        }
        int colon = address.LastIndexOf(':');
        if (colon > 0 && address.IndexOf(':', StringComparison.Ordinal) == colon)
            return (address[..colon], int.Parse(address[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        return (address, defaultPort);
    }

    public static IPEndPoint ParseEndPoint(string address, int defaultPort)
    {
        var (host, port) = ParseAddress(address, defaultPort);
        var ip = host is "" or "*" or "0.0.0.0" ? IPAddress.Any
            : host == "::" ? IPAddress.IPv6Any
            : host == "localhost" ? IPAddress.Loopback
            : IPAddress.Parse(host);
        return new IPEndPoint(ip, port);
    }
}

/// <summary>The peer closed the connection where its hello should have been (on a connecting source: the target refused its certificate).</summary>
internal sealed class HelloMissingException() : ProtocolException("peer closed the connection before its hello");
