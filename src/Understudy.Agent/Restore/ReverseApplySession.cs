using Understudy.Agent.Events;
using Understudy.Agent.Peer;
using Understudy.Agent.Target;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;
using Understudy.Core.Protocol.Control;

namespace Understudy.Agent.Restore;

/// <summary>
/// The passive source's side of a restore link: the roles of a job session reversed over the connection
/// the source opened. It is the target's own <see cref="ApplyLoop"/> (every operation a job session takes,
/// applied the same way: temp + rename, path guard) with the reverse direction's hooks: the
/// <see cref="ConflictParker"/> is consulted before anything is replaced or removed and its reports follow
/// the frame that caused them; any other path the restore replaces or removes goes to the <see cref="RestoreKeeper"/>
/// (null: <c>restore.replaced: discard</c>); parked versions are left out of the manifest (never compared, so never
/// deleted; the keeper's directory is reserved, so no walk lists it), and control requests (identity status, reclaim, resume) are answered by <c>control</c> once
/// everything before them is durable.
/// </summary>
internal sealed class ReverseApplySession(PeerConnection conn, string job, FsTree tree, ConflictParker parker, RestoreKeeper? keeper, EventLog events,
    Func<ControlRequest, CancellationToken, Task<ControlReply>> control) : IApplyHooks
{
    /// <summary>Runs until the target closes the link; true when the target asked to resume (fail-back done).</summary>
    public Task<bool> RunAsync(CancellationToken ct) => new ApplyLoop(conn, tree, this, events, job).RunAsync(ct);

    public string Side => "source";

    public string Category => "restore";

    public bool Replica => false;

    public bool Hides(RelPath path) => ConflictParker.IsParked(path);

    /// <exception cref="RestoreStoppedException">restore.conflicts manual and the path diverged.</exception>
    public void BeforeChange(RelPath path, bool removes)
    {
        if (!parker.BeforeChange(path, removes))
            keeper?.BeforeChange(path, removes);
    }

    public void Durable(ulong seq)
    {
    }

    public async ValueTask<ControlAnswer> ControlAsync(ControlRequest request, Func<Task> makeDurable, CancellationToken ct)
    {
        await makeDurable();
        return new ControlAnswer(await control(request, ct), EndsSession: ControlVerbs.Resume.Is(request));
    }

    public IReadOnlyList<Message> TakeOutgoing() =>
        [.. parker.TakePending().Select(ControlVerbs.RestoreConflict.Request)];

    public bool KeepReceivedOnStop() => false;
}
