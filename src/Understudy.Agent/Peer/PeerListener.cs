using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Understudy.Agent.Common;
using Understudy.Agent.Events;
using Understudy.Agent.State;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Peer;

/// <summary>
/// Accepts peer connections: TLS 1.3 with a client certificate required, accepted only when
/// its fingerprint is in the trust list (checked inside the handshake, so an untrusted peer
/// gets nothing but a TLS alert). Each accepted connection is handed to <c>onSession</c>;
/// the accept loop and every session are owned and awaited on shutdown.
/// </summary>
internal sealed partial class PeerListener(
    IPEndPoint endPoint,
    AgentIdentity identity,
    string agentName,
    StateStore store,
    EventLog events,
    PeerHeartbeat? heartbeat,
    TimeSpan refusalWindow,
    Func<PeerConnection, CancellationToken, Task> onSession,
    ILogger<PeerListener> logger) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly RefusalThrottle _refusals = new(events, events.Time, refusalWindow);
    private readonly List<Task> _sessions = [];
    private readonly Lock _lock = new();
    private TcpListener? _listener;
    private Task? _acceptLoop;

    public IPEndPoint? LocalEndPoint => _listener?.LocalEndpoint as IPEndPoint;

    private int _open;

    /// <summary>Connections accepted and not yet closed, handshakes included (GET /metrics).</summary>
    public int OpenConnections => Volatile.Read(ref _open);

    public void Start()
    {
        var l = new TcpListener(endPoint);
        if (endPoint.Address.Equals(IPAddress.IPv6Any))
            l.Server.DualMode = true;
        l.Start(128);
        _listener = l;
        _acceptLoop = AcceptLoopAsync(_stop.Token);
    }

    private async Task AcceptLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener!.AcceptTcpClientAsync(ct);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (SocketException e) when (!ct.IsCancellationRequested)
            {
                LogAcceptError(logger, e.Message);
                continue;
            }
            client.NoDelay = true;
            var task = HandleAsync(client, ct);
            lock (_lock)
            {
                _sessions.RemoveAll(t => t.IsCompleted);
                _sessions.Add(task);
            }
        }
    }

    private async Task HandleAsync(TcpClient client, CancellationToken ct)
    {
        var remote = client.Client.RemoteEndPoint?.ToString() ?? "?";
        Interlocked.Increment(ref _open);
        string? peerId = null;
        var ssl = new SslStream(new ReadAheadStream(client.GetStream()), leaveInnerStreamOpen: false);
        PeerConnection? conn = null;
        try
        {
            using (var hs = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                hs.CancelAfter(PeerLink.HandshakeTimeout);
                await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificate = identity.Certificate,
                    ClientCertificateRequired = true,
                    EnabledSslProtocols = SslProtocols.Tls13,
                    CipherSuitesPolicy = PeerLink.CipherSuites,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                    RemoteCertificateValidationCallback = (_, cert, _, _) =>
                    {
                        peerId = cert is null ? null : AgentIdentity.FingerprintOf(cert);
                        return peerId is not null && store.IsTrusted(peerId);
                    },
                }, hs.Token);
                conn = new PeerConnection(ssl, peerId!);
                await PeerLink.ExchangeHelloAsync(conn, agentName, heartbeat, hs.Token);
            }
            await onSession(conn, ct);
        }
        catch (AuthenticationException e)
        {
            // Through the throttle: a client on the network decides how often this happens (RefusalThrottle.cs).
            var address = (client.Client.RemoteEndPoint as IPEndPoint)?.Address.ToString() ?? "?";
            if (peerId is null)
                _refusals.Refused(EventCode.PeerNoCertificate, address, $"refused a connection from {remote}: no client certificate ({e.Message})");
            else if (!store.IsTrusted(peerId))
                _refusals.Refused(EventCode.PeerUntrusted, address, $"refused untrusted peer {peerId} from {remote}; to allow it: understudy trust add {peerId}");
            else
                _refusals.Refused(EventCode.PeerTlsFailed, address, $"TLS handshake with {remote} failed: {e.Message}");
        }
        catch (ProtocolException e)
        {
            events.Record(EventCode.PeerProtocolViolation, Severity.Warning, "peer", null, $"closed connection from {remote} ({peerId ?? "unknown"}): protocol violation: {e.Message}");
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (OperationCanceledException)
        {
            LogSessionEnded(logger, remote, "handshake timed out");
        }
        catch (Exception e) when (e is IOException or SocketException or PeerException or ObjectDisposedException)
        {
            LogSessionEnded(logger, remote, e.Message);
        }
        catch (Exception e)
        {
            events.Record(EventCode.PeerSessionFailed, Severity.Error, "peer", null, $"session with {remote} failed: {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            if (conn is not null)
                await conn.DisposeAsync();
            else
                await ssl.DisposeAsync();
            client.Dispose();
            Interlocked.Decrement(ref _open);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener?.Stop();
        if (_acceptLoop is not null)
            await _acceptLoop;
        Task[] sessions;
        lock (_lock)
            sessions = [.. _sessions];
        await Task.WhenAll(sessions);
        _refusals.Dispose();
        _stop.Dispose();
    }

    [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "accept failed: {Reason}")]
    private static partial void LogAcceptError(ILogger logger, string reason);

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "peer session with {Remote} ended: {Reason}")]
    private static partial void LogSessionEnded(ILogger logger, string remote, string reason);
}
