using Understudy.Agent.Events;
using Understudy.Agent.Peer;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Target;

/// <summary>
/// The one loop that applies a job's operations, in both directions: the target of a job session
/// (<see cref="TargetSession"/>) and the passive source of a restore link (Restore/ReverseApplySession.cs),
/// which differ only by their <see cref="IApplyHooks"/>. After the connection is open it serves manifest
/// and signature requests and applies operations in order with the <see cref="Applier"/>, acknowledging
/// barriers once durable. An operation the tree cannot take as it is now is reported to the sender
/// (ApplyFailed NotFound, <see cref="TryAsync"/>) and the loop goes on; any other failure is reported
/// (ApplyFailed) and ends the session. Nothing half-written is ever published under a real name.
/// </summary>
internal sealed partial class ApplyLoop(PeerConnection conn, FsTree tree, IApplyHooks hooks, EventLog events, string job)
{
    /// <summary>Runs until the sender closes the connection or sends CloseJob; true when a control request ended it.</summary>
    public async Task<bool> RunAsync(CancellationToken ct)
    {
        using var applier = new Applier(tree);
        string? currentPath = null;
        bool discarding = false; // a file whose start could not be applied: its data frames are dropped
        var failedAside = new List<ParallelWrites.Item>();

        // Files that failed on a write worker are applied again here, in order, once nothing else is
        // aside, so each failure is reported exactly as a file applied here would report it.
        async Task RetryAsideAsync()
        {
            applier.TakeAside(all: true, failedAside);
            try
            {
                foreach (var f in failedAside)
                {
                    currentPath = f.Op.Path.ToString();
                    await TryAsync(() => applier.BeginFile(f.Op), ct, f.Op.Path);
                }
            }
            finally
            {
                foreach (var f in failedAside)
                    f.Owner.Dispose();
                failedAside.Clear();
            }
        }

        // A control request may depend on everything before it (a restore's reclaim follows its final sync).
        async Task MakeDurableAsync()
        {
            if (applier.WritingAside)
                await RetryAsideAsync();
            applier.Barrier();
        }

        // Before an operation replaces (removes: false) or removes a path: the hooks may act first (park it) or refuse.
        Action Changing(RelPath path, bool removes, Action apply) => () =>
        {
            hooks.BeforeChange(path, removes);
            apply();
        };

        try
        {
            while (true)
            {
                var frame = await conn.ReceiveAsync(ct);
                if (frame is null)
                    return false;
                bool keptAside = false;
                try
                {
                    var m = hooks.Policy.Narrow(frame.Message);
                    currentPath = PathOf(m) ?? currentPath;
                    if (events.Trace.On && Traced(m) is { } what)
                        events.Trace.Write(job, $"{hooks.Side} applies {what}");
                    if (m is FileBegin whole && applier.CanWriteAside(whole))
                    {
                        discarding = false;
                        if (await TryAsync(() => hooks.BeforeChange(whole.Path, removes: false), ct, whole.Path))
                        {
                            keptAside = true;
                            applier.WriteAside(whole, frame, failedAside);
                            if (failedAside.Count > 0)
                                await RetryAsideAsync();
                        }
                        await SendOutgoingAsync(ct);
                        continue;
                    }
                    if (applier.WritingAside && m is not (Ping or ControlRequest))
                        await RetryAsideAsync(); // everything else may depend on the files written aside
                    switch (m)
                    {
                        case ManifestRequest r:
                            await SendManifestAsync(r, ct);
                            break;
                        case SignatureRequest r:
                            applier.Settle(r.Path); // a pending newer copy must be the basis the delta is made against
                            await SendSignatureAsync(r, ct);
                            break;
                        case MakeDirectory op: await TryAsync(() => applier.MakeDirectory(op), ct, op.Path); break;
                        case FileBegin op:
                            discarding = !await TryAsync(Changing(op.Path, false, () => applier.BeginFile(op)), ct, op.Path) && !op.Complete;
                            break;
                        case FileData op when !discarding: applier.Data(op); break;
                        case FileEnd op when !discarding: applier.EndFile(op); break;
                        case DeltaBegin op: discarding = !await TryAsync(Changing(op.Path, false, () => applier.BeginDelta(op)), ct, op.Path); break;
                        case DeltaData op when !discarding: applier.DeltaData(op); break;
                        case FileData or DeltaData: break;
                        case FileEnd: discarding = false; break;
                        case SymlinkOp op: await TryAsync(Changing(op.Path, false, () => applier.Symlink(op)), ct, op.Path); break;
                        case HardLinkOp op: await TryAsync(Changing(op.Path, false, () => applier.HardLink(op)), ct, op.Path); break;
                        case DeleteOp op: await TryAsync(Changing(op.Path, true, () => applier.Delete(op)), ct, op.Path); break;
                        case SetMetadataOp op: await TryAsync(() => applier.SetMetadata(op), ct, op.Path); break;
                        // The entry keeps its content under the new name: only the name it replaces is changed.
                        case RenameOp op:
                            if (await TryAsync(Changing(op.To, false, () => applier.Rename(op)), ct, op.From, op.To) && applier.RenameClearedItsDestination && hooks.Replica)
                            {
                                // What it replaced may have been content sent ahead of this record (a first mirror that
                                // walked the new name while the rename waited in the queue): the sender resyncs the new
                                // name, as for a change that found the tree in another shape (convergence seed 513). Only
                                // forward: a restore's sender is a mirror, whose moves never land on a name in use.
                                await conn.SendAsync(new ApplyFailed(ErrorCode.NotFound, op.To.ToString(), "replaced what the target held at the new name"), ct);
                            }
                            break;
                        case Core.Protocol.Barrier b:
                            applier.Barrier();
                            hooks.Durable(b.Seq);
                            ReportDropped();
                            await conn.SendAsync(new Ack(b.Seq), ct);
                            break;
                        case Ping p:
                            // This agent sends no Ping, but the frame is part of the protocol (docs/protocol.md): a peer may.
                            await conn.SendAsync(new Pong(p.Nonce), ct);
                            break;
                        case PointBegin or PointData or PointEnd or PointCurrent when hooks.Points is { } points:
                            await points.OnFrameAsync(m, MakeDurableAsync, conn, ct);
                            break;
                        case CloseJob:
                            applier.Barrier();
                            return false;
                        case ControlRequest c:
                            var answer = await hooks.ControlAsync(c, MakeDurableAsync, ct);
                            if (answer.Reply is { } reply)
                                await conn.SendAsync(reply, ct);
                            if (answer.EndsSession)
                                return true;
                            break;
                        default:
                            throw new ProtocolException($"unexpected {m.Type} frame in a job session");
                    }
                    await SendOutgoingAsync(ct);
                }
                finally
                {
                    if (!keptAside)
                        frame.Dispose();
                }
            }
        }
        catch (OperationCanceledException) when (hooks.KeepReceivedOnStop())
        {
            // Fail-over: keep everything received completely; only a file still in flight is dropped.
            applier.FinishReceived();
            throw;
        }
        catch (ApplyRefusedException e)
        {
            events.Record(EventCode.ApplyRefused, Severity.Error, hooks.Category, job, e.Message, new { path = currentPath });
            await ReportAsync(new ApplyFailed(e.Code, currentPath ?? "", e.Message), ct);
        }
        catch (PosixException e)
        {
            var (code, severity, eventCode) = e.IsNoSpace ? (ErrorCode.NoSpace, Severity.Error, EventCode.ApplyDiskFull)
                : e.IsEscape ? (ErrorCode.Refused, Severity.Security, EventCode.ApplyPathEscape)
                : (ErrorCode.Io, Severity.Error, EventCode.ApplyIoFailed);
            var what = e.IsNoSpace ? $"{hooks.Side} disk full" : e.IsEscape ? $"refused a path that leads outside the {hooks.Side} path" : "cannot apply";
            events.Record(eventCode, severity, hooks.Category, job, $"{what}: {e.Message}", new { path = currentPath, errno = e.Errno });
            await ReportAsync(new ApplyFailed(code, currentPath ?? "", $"{what}: {e.Message}"), ct);
        }
        finally
        {
            ReportDropped();
        }
        return false;
    }

    /// <summary>Records what the privilege policy left out since the last report (at barriers and at the end): the replica
    /// differs there from the source on purpose, and verify says so.</summary>
    private void ReportDropped()
    {
        var p = hooks.Policy;
        if (p.Dropped > _reportedDropped)
        {
            events.Record(EventCode.ApplyPrivilegesDropped, Severity.Warning, hooks.Category, job,
                $"left out {p.Dropped - _reportedDropped} set-user-ID/set-group-ID bits and security.*/trusted.* attributes (first: {p.FirstDropped}): the trust entry of this source does not allow them (understudy trust add ID --allow-setuid / --allow-security-xattrs)");
            _reportedDropped = p.Dropped;
        }
    }

    private int _reportedDropped;

    /// <summary>What the hooks queued while the frame was applied (a restore's conflict reports).</summary>
    private async Task SendOutgoingAsync(CancellationToken ct)
    {
        foreach (var m in hooks.TakeOutgoing())
            await conn.SendAsync(m, ct);
    }

    /// <summary>Tells the sender why the session ends, then lets it close first (<see cref="DrainAsync"/>).</summary>
    private async Task ReportAsync(ApplyFailed failed, CancellationToken ct)
    {
        try
        {
            await conn.SendAsync(failed, ct);
            await DrainAsync(ct);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>
    /// After ApplyFailed the sender may still be streaming a file. Closing at once would reset the
    /// connection with its data unread, and a reset can destroy the ApplyFailed in flight: the sender
    /// would see a broken pipe, not "disk full" (or a restore's conflict stop), and retry as for a lost
    /// link instead of pausing. So discard what it still sends until it closes (it does once it reads
    /// ApplyFailed), bounded in time.
    /// </summary>
    private async Task DrainAsync(CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            while (await conn.ReceiveAsync(cts.Token) is { } frame)
                frame.Dispose();
        }
        catch (Exception e) when (e is OperationCanceledException or ProtocolException)
        {
        }
    }

    /// <summary>
    /// Runs an operation that finds the tree in another shape than it expects: its subject missing (a replayed
    /// rename, link or metadata change after a reconnect, or a file the sender never sent) or something in the way
    /// (a rename onto a directory that is not empty, a file where a directory should be: replayed or reordered
    /// changes). Retrying would fail the same way for ever, so the session goes on and the sender is told
    /// (ApplyFailed NotFound, not fatal) for each of <paramref name="paths"/>; it sends them as they are now, by a
    /// difference mirror of each. False when the operation was not applied.
    /// </summary>
    private async Task<bool> TryAsync(Action op, CancellationToken ct, params RelPath[] paths)
    {
        try
        {
            op();
            return true;
        }
        catch (PosixException e) when (e.IsTreeConflict && !e.IsEscape)
        {
            if (!e.IsNotFound)
                events.Record(EventCode.ApplyResendRequested, Severity.Warning, hooks.Category, job, $"cannot apply, asking the sender to re-send: {e.Message}", new { errno = e.Errno });
            foreach (var p in paths)
                await conn.SendAsync(new ApplyFailed(ErrorCode.NotFound, p.ToString(), e.Message), ct);
            return false;
        }
    }

    private static string? Traced(Message m) => m switch
    {
        FileBegin x => $"file {x.Path} size {x.Size} mtime {x.Meta.MtimeNs}{(x.Complete ? "" : " (data follows)")}",
        DeltaBegin x => $"delta {x.Path} size {x.Size} mtime {x.Meta.MtimeNs}",
        FileEnd x => x.Abort ? "file end (aborted)" : null,
        HardLinkOp x => $"link {x.Path} = {x.Existing}",
        RenameOp x => $"rename {x.From} -> {x.To}",
        Core.Protocol.Barrier x => $"barrier {x.Seq}",
        FileData or DeltaData or Ping or PointData => null,
        _ => PathOf(m) is { } p ? $"{m.Type} {p}" : m.Type.ToString(),
    };

    private static string? PathOf(Message m) => m switch
    {
        MakeDirectory x => x.Path.ToString(),
        FileBegin x => x.Path.ToString(),
        DeltaBegin x => x.Path.ToString(),
        SymlinkOp x => x.Path.ToString(),
        HardLinkOp x => x.Path.ToString(),
        DeleteOp x => x.Path.ToString(),
        SetMetadataOp x => x.Path.ToString(),
        RenameOp x => x.To.ToString(),
        _ => null,
    };
}
