using Understudy.Core.Paths;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Target;

/// <summary>
/// What differs between the two sides that apply a job's operations with <see cref="ApplyLoop"/>: the
/// target of a job session (<see cref="TargetSession"/>: records the queue position a barrier
/// acknowledges, keeps what it received when a fail-over stops it, takes the source's status reports)
/// and the passive source of a restore link (Restore/ReverseApplySession.cs: parks a diverged path
/// before it is replaced, answers the restore's control requests). Which operations exist and how each
/// is applied, refused or reported is the loop's alone, so the two directions cannot drift apart again
/// (the restore's own copy of the loop once lacked renames, and a restore after clients renamed
/// anything on the target never finished).
/// </summary>
internal interface IApplyHooks
{
    /// <summary>This side in events and in what the sender is told: "target" or "source".</summary>
    string Side { get; }

    /// <summary>The category of this side's apply events ("apply", "restore").</summary>
    string Category { get; }

    /// <summary>The tree is a target's copy: big files hashed for a manifest are dropped from the page cache behind the reader.</summary>
    bool Replica { get; }

    /// <summary>Entries left out of the manifest, with everything below them (a restore's parked conflicts: never compared, so never deleted).</summary>
    bool Hides(RelPath path);

    /// <summary>Called before an operation replaces (<paramref name="removes"/> false) or removes <paramref name="path"/>.</summary>
    /// <exception cref="ApplyRefusedException">The operation must not be applied: the session reports it and ends.</exception>
    void BeforeChange(RelPath path, bool removes);

    /// <summary>Everything up to the barrier <paramref name="seq"/> is durable; the loop acknowledges it next.</summary>
    void Durable(ulong seq);

    /// <summary>
    /// Answers a control request. <paramref name="makeDurable"/> publishes and syncs everything applied so far,
    /// for a request that depends on it; a one-way report needs no such wait (the source's status, once a second).
    /// </summary>
    ValueTask<ControlAnswer> ControlAsync(ControlRequest request, Func<Task> makeDurable, CancellationToken ct);

    /// <summary>Messages to send once the current frame is applied (a restore's conflict reports).</summary>
    IReadOnlyList<Message> TakeOutgoing();

    /// <summary>A write-order job's point receiver (target of a job session only); null elsewhere, where point frames are a protocol violation.</summary>
    PointReceiver? Points => null;

    /// <summary>What the applied operations may carry (a target's trust entry for its source); unrestricted by default (a restore).</summary>
    PrivilegePolicy Policy => PrivilegePolicy.Unrestricted;

    /// <summary>Asked when the session is cancelled: true to publish everything received completely first (a fail-over stopping replication).</summary>
    bool KeepReceivedOnStop();
}

/// <summary>A control request's outcome: the reply to send (none for a one-way report), and whether the session ends after it.</summary>
internal readonly record struct ControlAnswer(ControlReply? Reply, bool EndsSession = false)
{
    public static ControlAnswer None => default;
}

/// <summary>An <see cref="IApplyHooks"/> refused an operation: the loop reports <see cref="Code"/> to the sender (ApplyFailed) and ends the session.</summary>
internal class ApplyRefusedException(ErrorCode code, string message) : Exception(message)
{
    public ErrorCode Code { get; } = code;
}
