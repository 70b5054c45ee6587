using System.Net;
using System.Net.Sockets;

namespace Understudy.Agent.Tests.Replication.Faults.Support;

/// <summary>
/// A TCP forwarder on loopback between a source agent and its target: the job's target address points
/// here. <see cref="Cut"/> resets every connection and closes the listening socket, so reconnects are
/// refused (as when a link or the target host is down); <see cref="Restore"/> listens again on the same
/// port. TLS passes through untouched, so certificate pinning between the agents still holds.
/// </summary>
internal sealed class TcpProxy : IAsyncDisposable
{
    private readonly IPEndPoint _upstream;
    private readonly Lock _lock = new();
    private readonly List<Socket> _open = [];
    private readonly List<Task> _tasks = [];
    private TcpListener? _listener;
    private CancellationTokenSource _linkCts = new();
    private long _accepted;
    private long _bytes;

    public TcpProxy(IPEndPoint upstream)
    {
        _upstream = upstream;
        Port = Understudy.Testing.Ports.Free();
    }

    public int Port { get; }

    /// <summary>What a job file's target.address should say.</summary>
    public string Address => $"127.0.0.1:{Port}";

    /// <summary>Connections accepted and forwarded so far (a reconnect shows as a new one).</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>Bytes forwarded in both directions.</summary>
    public long BytesForwarded => Interlocked.Read(ref _bytes);

    public bool IsCut { get; private set; } = true;

    public static TcpProxy Start(string upstreamAddress)
    {
        var p = new TcpProxy(IPEndPoint.Parse(upstreamAddress));
        p.Restore();
        return p;
    }

    /// <summary>Listens (again) and forwards new connections.</summary>
    public void Restore()
    {
        lock (_lock)
        {
            if (!IsCut)
                return;
            _linkCts = new CancellationTokenSource();
            var l = new TcpListener(IPAddress.Loopback, Port);
            // Connections reset by Cut may leave the port in TIME_WAIT; the listener must still bind.
            l.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            l.Start();
            _listener = l;
            IsCut = false;
            _tasks.Add(AcceptLoopAsync(l, _linkCts.Token));
        }
    }

    /// <summary>Resets every forwarded connection (RST, not FIN) and refuses new ones until <see cref="Restore"/>.</summary>
    public void Cut()
    {
        lock (_lock)
        {
            if (IsCut)
                return;
            IsCut = true;
            _linkCts.Cancel();
            _listener!.Stop();
            _listener = null;
            foreach (var s in _open)
                Reset(s);
            _open.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        Cut();
        Task[] tasks;
        lock (_lock)
            tasks = [.. _tasks];
        // The loops end on their own once their sockets are closed; their failures are expected then.
        await Task.WhenAll(tasks.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        _linkCts.Dispose();
    }

    private async Task AcceptLoopAsync(TcpListener listener, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptSocketAsync(ct);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            lock (_lock)
            {
                if (IsCut)
                {
                    Reset(client);
                    continue;
                }
                _open.Add(client);
                _tasks.Add(ForwardAsync(client, ct));
            }
            Interlocked.Increment(ref _accepted);
        }
    }

    private async Task ForwardAsync(Socket client, CancellationToken ct)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        try
        {
            lock (_lock)
            {
                if (IsCut)
                    throw new OperationCanceledException();
                _open.Add(server);
            }
            await server.ConnectAsync(_upstream, ct);
            // Either direction ending (or a Cut) ends both: the agents see one broken connection.
            await Task.WhenAny(PumpAsync(client, server, ct), PumpAsync(server, client, ct));
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            lock (_lock)
            {
                _open.Remove(client);
                _open.Remove(server);
            }
            Reset(client);
            Reset(server);
        }
    }

    private async Task PumpAsync(Socket from, Socket to, CancellationToken ct)
    {
        var buf = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buf, SocketFlags.None, ct);
                if (n == 0)
                    return;
                await to.SendAsync(buf.AsMemory(0, n), SocketFlags.None, ct);
                Interlocked.Add(ref _bytes, n);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private static void Reset(Socket s)
    {
        try
        {
            // Linger 0: close sends RST, so the peer fails at once instead of waiting on a half-open link.
            s.LingerState = new LingerOption(true, 0);
            s.Close();
        }
        catch (ObjectDisposedException)
        {
        }
        catch (SocketException)
        {
        }
    }
}
