using System.Text.Json;
using Understudy.Agent.Events;
using Understudy.Agent.Failover;
using Understudy.Agent.Peer;
using Understudy.Core.Protocol;
using Understudy.Core.Protocol.Control;

namespace Understudy.Agent.Restore;

/// <summary>
/// The target's answer to a passive source's poll (docs/protocol.md, "Restore and fail-back"):
/// while the job holds the source's identity and no restore was asked for, "wait"; while restoring
/// or failing back, the connection becomes the root's restore link; once the job protects again
/// (fail-back done, or nothing known of it), "resume".
/// </summary>
internal sealed class PassivePollHandler(FailoverManager failover, EventLog events)
{
    public async Task HandleAsync(PeerConnection conn, ControlRequest poll, CancellationToken ct)
    {
        PassivePollRequest req;
        try
        {
            req = ControlVerbs.PassivePoll.Read(poll);
        }
        catch (JsonException e)
        {
            throw new ProtocolException($"invalid {ControlVerbs.PassivePoll}: {e.Message}");
        }
        // Only the job's own source may poll for it: the engine is keyed by the peer's pinned ID.
        var engine = failover.Engines.FirstOrDefault(e => e.SourceId == conn.PeerId && e.Job == req.Job);
        if (engine is null || !engine.State.HoldsIdentity())
        {
            if (engine is not null)
                events.Record(EventCode.FailbackResumeTold, Severity.Info, "failback", req.Job, $"{req.SourceName} polled while passive; the job protects again here: told it to resume");
            await ReplyAsync(conn, new PassivePollReply(PassivePollReply.Resume), ct);
            return;
        }
        if (engine.RestoreRun is not { } run || req.Root < 0 || req.Root >= engine.Spec.Source.Paths.Count)
        {
            await ReplyAsync(conn, new PassivePollReply(PassivePollReply.Wait, $"{engine.State.Name()}: no restore requested", Holds: engine.HoldsIdentityNow), ct);
            return;
        }
        await run.AcceptAsync(conn, req.Root, ct);
    }

    private static ValueTask ReplyAsync(PeerConnection conn, PassivePollReply reply, CancellationToken ct) =>
        conn.SendAsync(ControlVerbs.PassivePoll.Reply(reply), ct);
}
