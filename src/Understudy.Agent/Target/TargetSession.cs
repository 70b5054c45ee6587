using Understudy.Agent.Events;
using Understudy.Agent.Mirror;
using Understudy.Agent.Peer;
using Understudy.Core.Delta;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Target;

/// <summary>
/// The target side of one job connection: after OpenJob, serves manifest and signature
/// requests and applies operations in order, acknowledging barriers once durable.
/// A failed operation is reported to the source (ApplyFailed) and ends the session; nothing
/// half-written is ever published under a real name (see <see cref="Applier"/>).
/// </summary>
internal sealed class TargetSession(PeerConnection conn, HostedJobInfo job, TargetService service, EventLog events)
{
    /// <summary>ControlRequest verb, source → target, one-way: JSON <c>{"ops":N,"bytes":N,"oldestAgeSeconds":S,"remirrorRequired":B}</c>,
    /// what the source has queued and not yet acknowledged (sent by JobRunner.SourceStatus.cs).</summary>
    public const string SourceStatusVerb = "source-status";

    public async Task RunAsync(FsTree tree, CancellationToken ct)
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

        try
        {
            while (true)
            {
                var frame = await conn.ReceiveAsync(ct);
                if (frame is null)
                    return;
                bool keptAside = false;
                try
                {
                    var m = frame.Message;
                    currentPath = PathOf(m) ?? currentPath;
                    if (m is FileBegin whole && applier.CanWriteAside(whole))
                    {
                        keptAside = true;
                        discarding = false;
                        applier.WriteAside(whole, frame, failedAside);
                        if (failedAside.Count > 0)
                            await RetryAsideAsync();
                        continue;
                    }
                    if (applier.WritingAside && m is not (Ping or ControlRequest))
                        await RetryAsideAsync(); // everything else may depend on the files written aside
                    switch (m)
                    {
                        case ManifestRequest r:
                            await SendManifestAsync(tree, r, ct);
                            break;
                        case SignatureRequest r:
                            applier.Settle(r.Path); // a pending newer copy must be the basis the delta is made against
                            await SendSignatureAsync(tree, r, ct);
                            break;
                        case MakeDirectory op: await TryAsync(() => applier.MakeDirectory(op), ct, op.Path); break;
                        case FileBegin op:
                            discarding = !await TryAsync(() => applier.BeginFile(op), ct, op.Path) && !op.Complete;
                            break;
                        case FileData op when !discarding: applier.Data(op); break;
                        case FileEnd op when !discarding: applier.EndFile(op); break;
                        case DeltaBegin op: discarding = !await TryAsync(() => applier.BeginDelta(op), ct, op.Path); break;
                        case DeltaData op when !discarding: applier.DeltaData(op); break;
                        case FileData or DeltaData: break;
                        case FileEnd: discarding = false; break;
                        case SymlinkOp op: await TryAsync(() => applier.Symlink(op), ct, op.Path); break;
                        case HardLinkOp op: await TryAsync(() => applier.HardLink(op), ct, op.Path); break;
                        case DeleteOp op: await TryAsync(() => applier.Delete(op), ct, op.Path); break;
                        case SetMetadataOp op: await TryAsync(() => applier.SetMetadata(op), ct, op.Path); break;
                        case RenameOp op: await TryAsync(() => applier.Rename(op), ct, op.From, op.To); break;
                        case Core.Protocol.Barrier b:
                            applier.Barrier();
                            if (b.Seq != 0) // 0: a mirror's barrier, which says nothing about the replication queue
                                service.RecordAppliedSeq(job, (long)b.Seq);
                            await conn.SendAsync(new Ack(b.Seq), ct);
                            break;
                        case Ping p:
                            await conn.SendAsync(new Pong(p.Nonce), ct);
                            break;
                        case CloseJob:
                            applier.Barrier();
                            return;
                        case ControlRequest { Verb: SourceStatusVerb } c:
                            service.Failover?.OnSourceStatus(job.SourceId, job.Job, c.Json);
                            break;
                        default:
                            throw new ProtocolException($"unexpected {m.Type} frame in a job session");
                    }
                }
                finally
                {
                    if (!keptAside)
                        frame.Dispose();
                }
            }
        }
        catch (OperationCanceledException) when (service.IsStoppingForFailover(job.Key))
        {
            // Fail-over: keep everything received completely; only a file still in flight is dropped.
            applier.FinishReceived();
            throw;
        }
        catch (PosixException e)
        {
            var (code, severity) = e.IsNoSpace ? (ErrorCode.NoSpace, Severity.Error)
                : e.IsEscape ? (ErrorCode.Refused, Severity.Security)
                : (ErrorCode.Io, Severity.Error);
            var what = e.IsNoSpace ? "target disk full" : e.IsEscape ? "refused a path that leads outside the target path" : "cannot apply";
            events.Record(severity, "apply", job.Job, $"{what}: {e.Message}", new { path = currentPath, errno = e.Errno });
            try
            {
                await conn.SendAsync(new ApplyFailed(code, currentPath ?? "", $"{what}: {e.Message}"), ct);
                await DrainAsync(ct);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>
    /// After ApplyFailed the source may still be streaming a file. Closing at once would reset the
    /// connection with its data unread, and a reset can destroy the ApplyFailed in flight: the source
    /// would see a broken pipe, not "disk full", and retry as for a lost link instead of pausing.
    /// So discard what it still sends until it closes (it does once it reads ApplyFailed), bounded in time.
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
    /// rename, link or metadata change after a reconnect, or a file the source never sent) or something in the way
    /// (a rename onto a directory that is not empty, a file where a directory should be: replayed or reordered
    /// changes). Retrying would fail the same way for ever, so the session goes on and the source is told
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
                events.Record(Severity.Warning, "apply", job.Job, $"cannot apply, asking the source to re-send: {e.Message}", new { errno = e.Errno });
            foreach (var p in paths)
                await conn.SendAsync(new ApplyFailed(ErrorCode.NotFound, p.ToString(), e.Message), ct);
            return false;
        }
    }

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

    private async Task SendManifestAsync(FsTree tree, ManifestRequest r, CancellationToken ct)
    {
        var batch = new List<ManifestItem>(ManifestBatch.MaxItems);
        long count = 0;
        int bytes = 0;
        string? error = null;
        try
        {
            if (r.Subtree.IsRoot || tree.Lstat(r.Subtree) is not null)
            {
                foreach (var item in ManifestScan.Scan(tree, r.Subtree, r.WithHashes, replica: true, withXattrs: r.WithXattrs))
                {
                    batch.Add(item);
                    count++;
                    bytes += ManifestBatch.SizeOf(item);
                    if (batch.Count == ManifestBatch.MaxItems || bytes >= ManifestBatch.TargetBytes)
                    {
                        await conn.WriteAsync(new ManifestBatch(batch), ct);
                        batch = new List<ManifestItem>(ManifestBatch.MaxItems);
                        bytes = 0;
                    }
                }
            }
        }
        catch (PosixException e)
        {
            error = e.Message;
        }
        if (batch.Count > 0)
            await conn.WriteAsync(new ManifestBatch(batch), ct);
        await conn.SendAsync(new ManifestEnd(count, error), ct);
    }

    private async Task SendSignatureAsync(FsTree tree, SignatureRequest r, CancellationToken ct)
    {
        foreach (var part in SignatureChunks.Split(r.Path, BuildSignature(tree, r)))
            await conn.WriteAsync(part, ct);
        await conn.FlushAsync(ct);
    }

    private static byte[] BuildSignature(FsTree tree, SignatureRequest r)
    {
        if (tree.Lstat(r.Path) is not { Kind: Core.Manifest.EntryKind.File })
            return [];
        using var f = tree.OpenRead(r.Path);
        var sig = SignatureBuilder.Compute((buf, off) => f.Read(buf, off), f.Stat.Size);
        var w = new System.Buffers.ArrayBufferWriter<byte>();
        sig.Serialize(w);
        return w.WrittenSpan.ToArray();
    }
}
