using System.Net;
using System.Net.Sockets;
using Understudy.Agent.Tests.Replication.Faults.Support;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Replication.Faults;

/// <summary>The fault tests' own tools: a churn that replays from its seed, a proxy that really cuts.</summary>
public sealed class HarnessTests
{
    [Fact]
    public void Churn_SameSeed_SameOperationsAndTree()
    {
        using var dir = new TempDir();
        var a = new ChurnGenerator(dir.Sub("a/src"), dir.Sub("a/out"), seed: 42);
        var b = new ChurnGenerator(dir.Sub("b/src"), dir.Sub("b/out"), seed: 42);
        Directory.CreateDirectory(a.Root);
        Directory.CreateDirectory(b.Root);
        a.Run(300);
        b.Run(300);
        Assert.Equal(a.Log, b.Log);
        Assert.Equal(Listing(a.Root), Listing(b.Root));
        // The weights keep the tree growing: an emptied tree would test little.
        Assert.True(Listing(a.Root).Count >= 100, $"only {Listing(a.Root).Count} entries after 300 operations");
        foreach (var op in Enum.GetValues<ChurnOp>().Where(o => o != ChurnOp.Chown || a.CanChown))
            Assert.True(a.Counts.GetValueOrDefault(op) > 0, $"300 operations never did {op}");
    }

    [Fact]
    public async Task Proxy_Cut_ResetsAndRefuses_Restore_ForwardsAgain()
    {
        using var echo = new TcpListener(IPAddress.Loopback, 0);
        echo.Start();
        using var stop = new CancellationTokenSource();
        var server = EchoAsync(echo, stop.Token);
        await using var proxy = TcpProxy.Start(echo.LocalEndpoint.ToString()!);

        using (var c = new TcpClient())
        {
            await c.ConnectAsync(IPAddress.Loopback, proxy.Port);
            var s = c.GetStream();
            Assert.Equal("ping", await RoundTripAsync(s, "ping"));
            proxy.Cut();
            await Assert.ThrowsAnyAsync<IOException>(async () =>
            {
                // The reset arrives on the next read (or write) of the old connection.
                for (int i = 0; i < 100; i++)
                    await RoundTripAsync(s, "after cut");
            });
        }
        using (var refused = new TcpClient())
            await Assert.ThrowsAsync<SocketException>(() => refused.ConnectAsync(IPAddress.Loopback, proxy.Port));

        proxy.Restore();
        using (var c = new TcpClient())
        {
            await c.ConnectAsync(IPAddress.Loopback, proxy.Port);
            Assert.Equal("pong", await RoundTripAsync(c.GetStream(), "pong"));
        }
        Assert.Equal(2, proxy.Accepted);
        await stop.CancelAsync();
        await server;
    }

    private static List<string> Listing(string root) =>
        [.. Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Select(p => $"{Path.GetRelativePath(root, p)} {(File.Exists(p) && new FileInfo(p).LinkTarget is null ? new FileInfo(p).Length : -1)}")
            .Order(StringComparer.Ordinal)];

    private static async Task<string> RoundTripAsync(NetworkStream s, string text)
    {
        var bytes = System.Text.Encoding.ASCII.GetBytes(text);
        await s.WriteAsync(bytes);
        var buf = new byte[bytes.Length];
        await s.ReadExactlyAsync(buf);
        return System.Text.Encoding.ASCII.GetString(buf);
    }

    private static async Task EchoAsync(TcpListener l, CancellationToken ct)
    {
        var conns = new List<Task>();
        try
        {
            while (true)
            {
                var c = await l.AcceptTcpClientAsync(ct);
                conns.Add(Task.Run(async () =>
                {
                    using (c)
                    {
                        try
                        {
                            await c.GetStream().CopyToAsync(c.GetStream(), ct);
                        }
                        catch (Exception e) when (e is IOException or OperationCanceledException)
                        {
                        }
                    }
                }, CancellationToken.None));
            }
        }
        catch (OperationCanceledException)
        {
        }
        await Task.WhenAll(conns);
    }
}
