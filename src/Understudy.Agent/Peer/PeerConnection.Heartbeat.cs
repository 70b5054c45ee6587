using Understudy.Agent.Events;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Peer;

/// <summary>
/// The heartbeat of a version 4 link (docs/protocol.md, "Heartbeat"). Sending: the sender task writes a
/// <see cref="Heartbeat"/> frame between two reads of the send pipe, which always end at a frame boundary (frames are
/// flushed whole), so it needs neither the send lock nor the bandwidth limiter: a send stuck behind a throttle or a long
/// frame does not hold it back. Receiving: the pump notes the time whenever bytes arrive and drops heartbeat frames
/// itself; a watch loop takes the link for dead once nothing has arrived for <see cref="PeerHeartbeat.Misses"/> × the
/// peer's interval. Time the pump spends waiting for this side's consumer (its channel full: this side is slow, the
/// peer is not silent) does not count. A dead link goes the one way a connection dies: the receive channel completes
/// with the reason, the stream is closed (a send blocked on a frozen peer's full window returns), and the owner's
/// ordinary reconnect runs.
/// </summary>
internal sealed partial class PeerConnection
{
    private PeerHeartbeat? _heartbeat;
    private Task _watch = Task.CompletedTask;
    private byte[] _beatFrame = [];
    private int _beatDue;
    private long _heardAt;
    private volatile bool _handing;
    private int _peerIntervalMs;
    private PeerException? _silent;

    /// <summary>The protocol version agreed at Hello (0 before).</summary>
    public ushort Version { get; internal set; }

    /// <summary>The job this link serves, for the event of a silent link (null: a control link).</summary>
    public string? Job { get; set; }

    /// <summary>Starts the heartbeat; called once, after Hello, on a link of version 4 or later.</summary>
    internal void StartHeartbeat(PeerHeartbeat heartbeat)
    {
        var body = new System.Buffers.ArrayBufferWriter<byte>(8);
        new Heartbeat((uint)heartbeat.Interval.TotalMilliseconds).Write(new WireWriter(body));
        var frame = new byte[Frame.HeaderSize + body.WrittenCount];
        Frame.WriteHeader(frame, MessageType.Heartbeat, 0, body.WrittenCount);
        body.WrittenSpan.CopyTo(frame.AsSpan(Frame.HeaderSize));
        _beatFrame = frame;
        Volatile.Write(ref _heardAt, heartbeat.Time.GetTimestamp());
        _heartbeat = heartbeat;
        _watch = WatchAsync(heartbeat, _pumpStop.Token);
    }

    /// <summary>
    /// The peer's heartbeat is on schedule: its last frame came within two of its heartbeat intervals (false on a link
    /// without a heartbeat). What a source stopping cleanly may take for contact with its target now (Failover/TargetContact).
    /// </summary>
    public bool HeartbeatOnSchedule =>
        _heartbeat is { } hb && Volatile.Read(ref _peerIntervalMs) is > 0 and var ms && SinceLastFrame <= 2 * TimeSpan.FromMilliseconds(ms) && !_pumpStop.IsCancellationRequested;

    /// <summary>Bytes arrived (or the pump got past a full channel): the silence clock starts again.</summary>
    private void NoteHeard()
    {
        if (_heartbeat is { } hb)
            Volatile.Write(ref _heardAt, hb.Time.GetTimestamp());
    }

    /// <summary>A heartbeat frame is the connection's own business: its interval is kept, it goes no further.</summary>
    private bool TakeHeartbeat(IncomingFrame frame)
    {
        if (frame.Message is not Heartbeat h)
            return false;
        Volatile.Write(ref _peerIntervalMs, (int)Math.Min(h.IntervalMs, (uint)PeerHeartbeat.MaxInterval.TotalMilliseconds));
        frame.Dispose();
        return true;
    }

    /// <summary>Called by the sender task between two reads of the pipe: true once when a heartbeat is due.</summary>
    private bool BeatDue => _beatFrame.Length > 0 && Interlocked.Exchange(ref _beatDue, 0) == 1;

    private async Task WatchAsync(PeerHeartbeat hb, CancellationToken ct)
    {
        await Task.Yield();
        // Looked at twice per interval; a heartbeat goes every other look.
        var tick = hb.Interval / 2;
        long last = hb.Time.GetTimestamp();
        using var timer = new PeriodicTimer(tick, hb.Time);
        try
        {
            Beat();
            for (long n = 1; await timer.WaitForNextTickAsync(ct); n++)
            {
                if (n % 2 == 0)
                    Beat();
                long now = hb.Time.GetTimestamp();
                bool late = hb.Time.GetElapsedTime(last, now) > hb.Interval * 2;
                last = now;
                if (late || _handing)
                {
                    // This process did not run for a while (a stall of its own: the peer's bytes may be waiting
                    // unread), or it is its own consumer that is slow: neither says the peer is silent.
                    Volatile.Write(ref _heardAt, now);
                    continue;
                }
                int peerMs = Volatile.Read(ref _peerIntervalMs);
                var peer = peerMs > 0 ? TimeSpan.FromMilliseconds(peerMs) : hb.Interval;
                var quiet = hb.Time.GetElapsedTime(Volatile.Read(ref _heardAt), now);
                if (quiet > peer * PeerHeartbeat.Misses)
                {
                    Abort(hb, quiet, peer);
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Beat()
    {
        Interlocked.Exchange(ref _beatDue, 1);
        _send.Reader.CancelPendingRead(); // wakes the sender task if it waits for frames
    }

    private void Abort(PeerHeartbeat hb, TimeSpan quiet, TimeSpan peer)
    {
        string who = PeerName.Length > 0 ? PeerName : PeerId[..Math.Min(12, PeerId.Length)];
        string text = $"link with {who} silent: nothing arrived for {quiet.TotalSeconds:0.#} s, {PeerHeartbeat.Misses} × its heartbeat interval of "
            + $"{peer.TotalSeconds:0.#} s (peer frozen, or the network drops everything); closed, the link is made again";
        _silent = new PeerException(text, isTransient: true);
        hb.Events?.Record(EventCode.PeerLinkSilent, Severity.Warning, "link", Job, text,
            new { peer = PeerId, peerName = PeerName, silentSeconds = Math.Round(quiet.TotalSeconds, 1), peerIntervalSeconds = peer.TotalSeconds });
        _incoming.Writer.TryComplete(_silent);
        _pumpStop.Cancel();
        try
        {
            _stream.Dispose(); // a send blocked on the frozen peer's full window returns (with the reason above)
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
        }
    }
}
