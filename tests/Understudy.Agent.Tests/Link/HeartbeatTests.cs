using System.Buffers;
using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text.Json.Nodes;
using Understudy.Agent.Common;
using Understudy.Agent.Events;
using Understudy.Core.Protocol;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Link;

/// <summary>
/// A silent link (issue 20, item 5): the peer's process is frozen with SIGSTOP, so its kernel still holds the TCP
/// connection open and acknowledges what arrives (TCP itself would never notice, and keepalive only after hours).
/// Each side must find the link dead through the heartbeat and take its normal way back once the peer runs again.
/// </summary>
public sealed class HeartbeatTests
{
    private const int SigStop = 19;
    private const int SigCont = 18;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task SilentLink_PeerFrozen_EachSideDropsTheLink_AndReconnectsWhenItRunsAgain()
    {
        await using var pair = new AgentPair();
        pair.Source.ExtraArgs.AddRange(["--peer-heartbeat", "1s"]);
        pair.Target.ExtraArgs.AddRange(["--peer-heartbeat", "1s"]);
        await pair.StartAsync();
        await pair.ApplyAsync(pair.JobYaml());
        await pair.WaitMirroredAsync();
        await Wait.UntilAsync(async () => await TargetConnectedAsync(pair) == true, Deadline, "the target to show the source connected");

        // The target freezes: the (idle) source must find its link silent.
        _ = Native.Kill(pair.Target.Pid, SigStop);
        try
        {
            await Wait.UntilAsync(async () => (await pair.Source.StatusAsync("job1"))["state"]!.GetValue<string>() == "disconnected",
                Deadline, "the source to find its link to the frozen target silent (state disconnected)");
            Assert.Contains(await pair.Source.EventsAsync("job1"), e => e.Code() == EventCode.PeerLinkSilent);
        }
        finally
        {
            _ = Native.Kill(pair.Target.Pid, SigCont);
        }
        await ArrivesAsync(pair, "after-target-froze.txt");

        // The source freezes: the target must find the session silent.
        await Wait.UntilAsync(async () => await TargetConnectedAsync(pair) == true, Deadline, "the source to be connected again");
        _ = Native.Kill(pair.Source.Pid, SigStop);
        try
        {
            await Wait.UntilAsync(async () => await TargetConnectedAsync(pair) == false, Deadline,
                "the target to find its link from the frozen source silent (hosted job not connected)");
            Assert.Contains(await pair.Target.EventsAsync("job1"), e => e.Code() == EventCode.PeerLinkSilent);
        }
        finally
        {
            _ = Native.Kill(pair.Source.Pid, SigCont);
        }
        await ArrivesAsync(pair, "after-source-froze.txt");
    }

    /// <summary>A version 3 agent (before heartbeats) gets no frame it does not know and is not taken for dead when it
    /// says nothing: the link agrees on version 3 and has no heartbeat.</summary>
    [Fact]
    public async Task OlderPeer_Version3_GetsNoHeartbeat_AndIsNotDroppedWhenQuiet()
    {
        await using var pair = new AgentPair();
        pair.Target.ExtraArgs.AddRange(["--peer-heartbeat", "200ms"]);
        await pair.StartAsync();
        await using var peer = await RawPeer.OpenJobAsync(pair, version: 3);
        // Ten of the agent's intervals: a heartbeat would have come, and a watched silence would have ended the link.
        Assert.Null(await peer.ReadFrameAsync(TimeSpan.FromSeconds(2)));
        await peer.SendAsync(new Core.Protocol.Barrier(0));
        var ack = await peer.ReadFrameAsync(Deadline);
        Assert.Equal(MessageType.Ack, ack?.Type);
        Assert.DoesNotContain(await pair.Target.EventsAsync(), e => e.Code() == EventCode.PeerLinkSilent);
    }

    /// <summary>A version 4 peer is sent heartbeats, and one that then goes silent is dropped with the event.</summary>
    [Fact]
    public async Task Version4Peer_GetsHeartbeats_AndIsDroppedWhenSilent()
    {
        await using var pair = new AgentPair();
        pair.Target.ExtraArgs.AddRange(["--peer-heartbeat", "200ms"]);
        await pair.StartAsync();
        await using var peer = await RawPeer.OpenJobAsync(pair, version: 4);
        // One heartbeat of its own (every second, it says), then nothing: the agent closes the link (the reads end).
        await Wait.UntilAsync(async () => await peer.ReadFrameAsync(Deadline) is null, Deadline, "the agent to close the silent link");
        var beats = peer.Seen.Where(f => f.Type == MessageType.Heartbeat).ToList();
        Assert.NotEmpty(beats);
        Assert.All(beats, b => Assert.Equal(200u, BinaryPrimitives.ReadUInt32LittleEndian(b.Body)));
        await Wait.UntilAsync(async () => (await pair.Target.EventsAsync()).Any(e => e.Code() == EventCode.PeerLinkSilent
            && e.Message().Contains("1 s", StringComparison.Ordinal)), Deadline, "event 160, with the peer's interval");
    }

    /// <summary>A hand-driven peer of a given protocol version that opens a job on the target and then does only what the test says.</summary>
    private sealed class RawPeer(SslStream ssl) : IAsyncDisposable
    {
        public static async Task<RawPeer> OpenJobAsync(AgentPair pair, ushort version)
        {
            using var me = AgentIdentity.LoadOrCreate(Directory.CreateDirectory(pair.Dir.Sub("raw-" + version)).FullName);
            (await pair.Target.CliAsync("trust", "add", me.Id, "--name", "raw", "--root", pair.Dir.Path)).EnsureOk();
            var tcp = new TcpClient();
            await tcp.ConnectAsync("127.0.0.1", pair.Target.PeerPort);
            var ssl = new SslStream(tcp.GetStream());
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "understudy-agent",
                EnabledSslProtocols = SslProtocols.Tls13,
                ClientCertificates = [me.Certificate],
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            });
            var peer = new RawPeer(ssl);
            await peer.SendAsync(new Hello(version, version, "raw"));
            if (version >= 4)
                await peer.SendAsync(new Heartbeat(1000));
            Assert.Equal(MessageType.Hello, (await peer.ReadFrameAsync(Deadline))?.Type);
            await peer.SendAsync(new OpenJob("raw" + version, pair.Dir.Sub("raw-replica-" + version), "raw"));
            // A version 4 agent's first heartbeat may come before JobOpened.
            (MessageType Type, byte[] Body)? reply;
            do
                reply = await peer.ReadFrameAsync(Deadline);
            while (reply?.Type == MessageType.Heartbeat);
            Assert.Equal(MessageType.JobOpened, reply?.Type);
            return peer;
        }

        public async Task SendAsync(Message m)
        {
            var body = new ArrayBufferWriter<byte>();
            m.Write(new WireWriter(body));
            var frame = new byte[Frame.HeaderSize + body.WrittenCount];
            Frame.WriteHeader(frame, m.Type, 0, body.WrittenCount);
            body.WrittenSpan.CopyTo(frame.AsSpan(Frame.HeaderSize));
            await ssl.WriteAsync(frame);
            await ssl.FlushAsync();
        }

        /// <summary>Every frame read so far, in order.</summary>
        public List<(MessageType Type, byte[] Body)> Seen { get; } = [];

        private Task<int>? _pending;
        private readonly MemoryStream _got = new();

        /// <summary>The next frame, or null when none came within <paramref name="within"/> or the agent closed the link.</summary>
        public async Task<(MessageType Type, byte[] Body)?> ReadFrameAsync(TimeSpan within)
        {
            var until = DateTime.UtcNow + within;
            while (true)
            {
                var buffered = _got.ToArray();
                if (buffered.Length >= Frame.HeaderSize)
                {
                    int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(buffered);
                    if (buffered.Length >= Frame.HeaderSize + length)
                    {
                        _got.SetLength(0);
                        _got.Write(buffered, Frame.HeaderSize + length, buffered.Length - Frame.HeaderSize - length);
                        var frame = ((MessageType)buffered[4], buffered[Frame.HeaderSize..(Frame.HeaderSize + length)]);
                        Seen.Add(frame);
                        return frame;
                    }
                }
                // One read outstanding at a time, kept across calls: a read given up on by a timeout is not lost.
                _pending ??= ReadSomeAsync();
                var left = until - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || await Task.WhenAny(_pending, Task.Delay(left)) != _pending)
                    return null;
                int n;
                try
                {
                    n = await _pending;
                }
                catch (IOException)
                {
                    n = 0;
                }
                _pending = null;
                if (n == 0)
                    return null;
            }
        }

        private async Task<int> ReadSomeAsync()
        {
            var buf = new byte[64 * 1024];
            int n = await ssl.ReadAsync(buf);
            _got.Write(buf, 0, n);
            return n;
        }

        public ValueTask DisposeAsync() => ssl.DisposeAsync();
    }

    private static async Task<bool?> TargetConnectedAsync(AgentPair pair)
    {
        var status = JsonNode.Parse((await pair.Target.CliAsync("status", "--json")).Stdout);
        return (status?["hosted"] as JsonArray)?.FirstOrDefault()?["connected"]?.GetValue<bool>();
    }

    private static async Task ArrivesAsync(AgentPair pair, string name)
    {
        await File.WriteAllTextAsync(Path.Combine(pair.SourceData, name), name);
        var there = Path.Combine(pair.TargetData, name);
        await Wait.UntilAsync(() => File.Exists(there) && File.ReadAllText(there) == name, Deadline, $"{name} to reach the target");
    }
}
