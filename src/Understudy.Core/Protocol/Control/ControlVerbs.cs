using System.Text.Json;
using Understudy.Core.Api;

namespace Understudy.Core.Protocol.Control;

/// <summary>
/// Every control word the peer link carries (docs/protocol.md: "source-status" in a job session, the rest on a restore
/// link), each with its request and reply record. The names are the wire's and never change.
/// </summary>
internal static class ControlVerbs
{
    /// <summary>Source → target, one-way, in a job session: what the source has queued and not yet acknowledged.</summary>
    public static readonly ControlVerb<SourceStatusReport> SourceStatus = new("source-status", ControlJson.Default.SourceStatusReport);

    /// <summary>Source → target, the first frame of a connection: "I am the passive source of JOB, root N; what now?"</summary>
    public static readonly ControlVerb<PassivePollRequest, PassivePollReply> PassivePoll =
        new("passive-poll", ControlJson.Default.PassivePollRequest, ControlJson.Default.PassivePollReply);

    /// <summary>Source → target, one-way, on a restore link: a diverged path was parked (or discarded).</summary>
    public static readonly ControlVerb<ConflictReport> RestoreConflict = new("restore-conflict", ControlJson.Default.ConflictReport);

    /// <summary>Target → source on the root-0 restore link: which of the job's identity addresses the source holds.</summary>
    public static readonly ControlVerb<IdentityStatusRequest, IdentityStatusReply> IdentityStatus =
        new("identity-status", ControlJson.Default.IdentityStatusRequest, ControlJson.Default.IdentityStatusReply);

    /// <summary>Target → source at fail-back: add the identity addresses back (after DAD) and announce them.</summary>
    public static readonly ControlVerb<ReclaimRequest, ReclaimReply> Reclaim =
        new("reclaim", ControlJson.Default.ReclaimRequest, ControlJson.Default.ReclaimReply);

    /// <summary>Target → source at the end of fail-back: leave passive mode, replicate forward again; the link closes.</summary>
    public static readonly ControlVerb<ResumeRequest, ResumeReply> Resume =
        new("resume", ControlJson.Default.ResumeRequest, ControlJson.Default.ResumeReply);

    /// <summary>The answer to a word this agent does not know: a failed reply naming it.</summary>
    public static ControlReply Unknown(ControlRequest r) =>
        new(false, JsonSerializer.Serialize(new ControlError($"unknown request '{r.Verb}'"), ControlJson.Default.ControlError));
}
