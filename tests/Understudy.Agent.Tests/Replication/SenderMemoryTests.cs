using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Understudy.Agent.Events;
using Understudy.Agent.Peer;
using Understudy.Agent.Replication;
using Understudy.Agent.Source;
using Understudy.Agent.State;
using Understudy.Core.Jobs;
using Understudy.Core.Paths;
using Understudy.Core.Protocol;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Replication;

/// <summary>
/// What a sender carries to the next session's sender (<see cref="ReplicationSender.Memory"/>): the next session
/// replays the records the target had not made durable, and they must send what they sent the first time.
/// </summary>
public sealed class SenderMemoryTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private readonly CancellationTokenSource _cts = new(TimeSpan.FromMinutes(1));
    private TcpListener? _listener;
    private readonly List<TcpClient> _clients = [];
    private StateStore? _store;

    public Task InitializeAsync()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Directory.CreateDirectory(_dir.Sub("data"));
        _store = new StateStore(_dir.Sub("data"));
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        foreach (var c in _clients)
            c.Dispose();
        _listener?.Stop();
        _listener?.Dispose();
        _store?.Dispose();
        _cts.Dispose();
        _dir.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>A session to a fake target: the sending side, and the receiving connection the test reads.</summary>
    private async Task<(SourceSession Session, PeerConnection Target)> SessionAsync()
    {
        var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)_listener!.LocalEndpoint).Port);
        var server = await _listener.AcceptTcpClientAsync();
        _clients.Add(client);
        _clients.Add(server);
        var session = SourceSession.Attach(new PeerConnection(client.GetStream(), "target"), new JobOpened("j", 0, false), _cts.Token);
        return (session, new PeerConnection(server.GetStream(), "source"));
    }

    /// <summary>What the sender sent up to the barrier after it, as "file PATH" and "rename FROM -> TO".</summary>
    private async Task<List<string>> SentAsync(SourceSession session, PeerConnection target, ulong barrier)
    {
        await session.SendBarrierAsync(barrier, _cts.Token);
        await session.FlushAsync(_cts.Token);
        var ops = new List<string>();
        while (await target.ReceiveAsync(_cts.Token) is { } frame)
        {
            using (frame)
            {
                switch (frame.Message)
                {
                    case Core.Protocol.Barrier b when b.Seq == barrier:
                        return ops;
                    case FileBegin f:
                        ops.Add($"file {f.Path}");
                        break;
                    case RenameOp r:
                        ops.Add($"rename {r.From} -> {r.To}");
                        break;
                }
            }
        }
        return ops;
    }

    [Fact]
    public async Task ARenameReplayedAfterTheTargetDied_SendsAgainTheFileItCarriedToItsNewName()
    {
        // Convergence seed 3092: a file made in a directory that was renamed before the file's Upsert was sent. The Upsert
        // found nothing (the name was gone) and was noted; the directory's rename then sent the file under the new name.
        // The target died after making the Upsert durable but before the rename: the next session replays only the
        // rename, which must send the file again — the first sender had crossed it off its list of skipped records.
        var src = _dir.Sub("src");
        Directory.CreateDirectory(Path.Combine(src, "b"));
        File.WriteAllText(Path.Combine(src, "b", "f"), "content");
        var job = new JobDefinition("j", [new SourceRoot(src, RelPath.Root)], (_, _) => false, "", "", _dir.Sub("replica"), MirrorMode.Different, false);
        var events = new EventLog(_store!, NullLogger<EventLog>.Instance, TimeProvider.System);
        var upsert = new ReplicationRecord(RecordKind.Upsert, 0, RelPath.Parse("a/f"));
        var rename = new ReplicationRecord(RecordKind.Rename, 0, RelPath.Parse("a"), IsDirectory: true, To: RelPath.Parse("b"));

        ReplicationSender.Memory memory;
        var (s1, t1) = await SessionAsync();
        await using (s1)
        await using (t1)
        {
            using var first = new ReplicationSender(job, s1, events, TimeProvider.System);
            await first.SendAsync(upsert, 1, _cts.Token);
            Assert.Empty(await SentAsync(s1, t1, 1));
            first.Acknowledged(1); // the next session starts after it
            await first.SendAsync(rename, 2, _cts.Token);
            Assert.Equal(["rename a -> b", "file b/f"], await SentAsync(s1, t1, 2)); // never acknowledged: the target died
            memory = first.Remembered();
        }


        var (s2, t2) = await SessionAsync();
        await using (s2)
        await using (t2)
        {
            using var next = new ReplicationSender(job, s2, events, TimeProvider.System);
            next.Inherit(memory);
            await next.SendAsync(rename, 2, _cts.Token);
            Assert.Equal(["rename a -> b", "file b/f"], await SentAsync(s2, t2, 2));
        }
    }

    [Fact]
    public async Task ARenameAcknowledged_IsNotSentAgainByTheNextSession()
    {
        // The other side of the test above: once the target has the rename, what it re-sent is not carried on (a rename
        // of the directory in a later session would send the file once more for nothing).
        var src = _dir.Sub("src");
        Directory.CreateDirectory(Path.Combine(src, "c"));
        File.WriteAllText(Path.Combine(src, "c", "f"), "content");
        var job = new JobDefinition("j", [new SourceRoot(src, RelPath.Root)], (_, _) => false, "", "", _dir.Sub("replica"), MirrorMode.Different, false);
        var events = new EventLog(_store!, NullLogger<EventLog>.Instance, TimeProvider.System);

        ReplicationSender.Memory memory;
        var (s1, t1) = await SessionAsync();
        await using (s1)
        await using (t1)
        {
            using var first = new ReplicationSender(job, s1, events, TimeProvider.System);
            await first.SendAsync(new ReplicationRecord(RecordKind.Upsert, 0, RelPath.Parse("a/f")), 1, _cts.Token);
            await first.SendAsync(new ReplicationRecord(RecordKind.Rename, 0, RelPath.Parse("a"), IsDirectory: true, To: RelPath.Parse("b")), 2, _cts.Token);
            Assert.Equal(["rename a -> b"], await SentAsync(s1, t1, 2)); // b is gone too (renamed to c): b/f noted
            await first.SendAsync(new ReplicationRecord(RecordKind.Rename, 0, RelPath.Parse("b"), IsDirectory: true, To: RelPath.Parse("c")), 3, _cts.Token);
            Assert.Equal(["rename b -> c", "file c/f"], await SentAsync(s1, t1, 3));
            first.Acknowledged(3);
            memory = first.Remembered();
        }
        Assert.Empty(memory.Gone);
    }
}
