using System.Net;
using System.Net.Sockets;
using Understudy.Agent.Peer;
using Understudy.Agent.Source;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Tests.Support;

/// <summary>
/// Real peer connections over loopback TCP, for tests that speak the protocol to one side of a link with no agent at
/// the other: <see cref="ConnectAsync"/> gives both ends, <see cref="SessionAsync"/> a job session to a fake target.
/// Disposing it disposes every connection it made (again, where their owner did already) and then the sockets.
/// </summary>
internal sealed class LoopbackPeers : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<TcpClient> _sockets = [];
    private readonly List<PeerConnection> _connections = [];

    public LoopbackPeers() => _listener.Start();

    /// <summary>A connected pair: the connecting end, whose peer is called <paramref name="nearsPeer"/>, and the accepted
    /// end, whose peer is called <paramref name="farsPeer"/>.</summary>
    public async Task<(PeerConnection Near, PeerConnection Far)> ConnectAsync(string nearsPeer, string farsPeer)
    {
        var client = new TcpClient();
        _sockets.Add(client);
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)_listener.LocalEndpoint).Port);
        var server = await _listener.AcceptTcpClientAsync();
        _sockets.Add(server);
        var near = new PeerConnection(client.GetStream(), nearsPeer);
        var far = new PeerConnection(server.GetStream(), farsPeer);
        _connections.Add(near);
        _connections.Add(far);
        return (near, far);
    }

    /// <summary>A session of job "j" to a fake target: the source's side, and the target's end of the link for the test
    /// to read what was sent and to answer it.</summary>
    public async Task<(SourceSession Session, PeerConnection Target)> SessionAsync(CancellationToken ct)
    {
        var (source, target) = await ConnectAsync("target", "source");
        return (SourceSession.Attach(source, new JobOpened("j", 0, false), ct), target);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _connections)
            await c.DisposeAsync();
        foreach (var s in _sockets)
            s.Dispose();
        _listener.Stop();
        _listener.Dispose();
    }
}
