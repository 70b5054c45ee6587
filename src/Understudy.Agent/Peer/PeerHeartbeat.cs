using Understudy.Agent.Common;
using Understudy.Agent.Events;

namespace Understudy.Agent.Peer;

/// <summary>
/// The heartbeat of this agent's peer links (docs/protocol.md, "Heartbeat"): every link that speaks version 4 sends a
/// <see cref="Core.Protocol.Heartbeat"/> every <paramref name="Interval"/> and is taken for dead once nothing has
/// arrived for 3 × the peer's interval. Set once, at start (<c>understudy agent --peer-heartbeat</c>).
/// </summary>
/// <param name="Events">Where a silent link is recorded (null: nowhere, e.g. in tests).</param>
internal sealed record PeerHeartbeat(TimeSpan Interval, TimeProvider Time, EventLog? Events)
{
    /// <summary>A silent link is found within 15 s (plus half an interval), long before TCP would (keepalive: hours;
    /// a frozen peer's kernel still acknowledges, so never), and 14 bytes every 5 s cost nothing.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(5);

    /// <summary>The shortest interval allowed (tests use a few hundred milliseconds; the wire carries milliseconds).</summary>
    public static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(100);

    public static readonly TimeSpan MaxInterval = TimeSpan.FromMinutes(10);

    /// <summary>How many of the peer's intervals may pass without a byte before the link is taken for dead.</summary>
    public const int Misses = 3;

    /// <summary>This agent's heartbeat, as its context was given it at start.</summary>
    public static PeerHeartbeat For(AgentContext ctx) => new(ctx.PeerHeartbeat ?? DefaultInterval, ctx.Time, ctx.Events);
}
