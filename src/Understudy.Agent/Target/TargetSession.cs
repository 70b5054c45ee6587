using System.Text.Json;
using Understudy.Agent.Events;
using Understudy.Agent.Peer;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;
using Understudy.Core.Protocol.Control;

namespace Understudy.Agent.Target;

/// <summary>
/// The target side of one job connection: the <see cref="ApplyLoop"/> with the forward direction's hooks. A
/// barrier's sequence is recorded as the last queue record applied (a reconnecting source resumes after it),
/// the source's queue reports go to the fail-over side, and a fail-over that stops the session keeps every
/// file received completely.
/// </summary>
internal sealed class TargetSession(PeerConnection conn, HostedJobInfo job, TargetService service, EventLog events) : IApplyHooks
{
    /// <summary>Set for a write-order job: takes its points.</summary>
    public PointReceiver? Points { get; init; }

    /// <summary>The source's trust entry's privileges, read when the session starts (a changed entry restarts it).</summary>
    public PrivilegePolicy Policy { get; init; } = PrivilegePolicy.For(null);

    public Task RunAsync(FsTree tree, CancellationToken ct) => new ApplyLoop(conn, tree, this, events, job.Job).RunAsync(ct);

    public string Side => "target";

    public string Category => "apply";

    public bool Replica => true;

    public bool Hides(RelPath path) => false;

    public void BeforeChange(RelPath path, bool removes)
    {
    }

    public void Durable(ulong seq)
    {
        if (seq != 0) // 0: a mirror's barrier, which says nothing about the replication queue
            service.RecordAppliedSeq(job, (long)seq);
    }

    public ValueTask<ControlAnswer> ControlAsync(ControlRequest request, Func<Task> makeDurable, CancellationToken ct)
    {
        // The one word a job session carries (sent by JobRunner.SourceStatus.cs).
        if (!ControlVerbs.SourceStatus.Is(request))
            throw new ProtocolException($"unexpected control request '{request.Verb}' in a job session");
        SourceStatusReport report;
        try
        {
            report = ControlVerbs.SourceStatus.Read(request);
        }
        catch (JsonException)
        {
            return ValueTask.FromResult(ControlAnswer.None); // a report only informs a fail-over: one that does not parse is passed over
        }
        service.Failover.OnSourceStatus(job.SourceId, job.Job, report);
        return ValueTask.FromResult(ControlAnswer.None);
    }

    public IReadOnlyList<Message> TakeOutgoing() => [];

    public bool KeepReceivedOnStop() => service.IsStoppingForFailover(job.Key);
}
