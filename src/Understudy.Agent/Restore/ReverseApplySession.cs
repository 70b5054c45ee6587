using Understudy.Agent.Events;
using Understudy.Agent.Mirror;
using Understudy.Agent.Peer;
using Understudy.Agent.Target;
using Understudy.Core.Delta;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Restore;

/// <summary>
/// The passive source's side of a restore link: the roles of a job session reversed over the
/// connection the source opened. It serves the manifest and signatures of one source root and
/// applies what the target sends with the same <see cref="Applier"/> the target uses (temp + rename,
/// path guard), consulting the <see cref="ConflictParker"/> before anything is replaced or removed.
/// Control requests (identity status, reclaim, resume) are answered by <c>control</c>.
/// </summary>
internal sealed class ReverseApplySession(PeerConnection conn, string job, FsTree tree, ConflictParker parker, EventLog events,
    Func<string, string, CancellationToken, Task<ControlReply>> control)
{
    /// <summary>Runs until the target closes the link; true when the target asked to resume (fail-back done).</summary>
    public async Task<bool> RunAsync(CancellationToken ct)
    {
        using var applier = new Applier(tree);
        try
        {
            while (true)
            {
                using var frame = await conn.ReceiveAsync(ct);
                if (frame is null)
                    return false;
                switch (frame.Message)
                {
                    case ManifestRequest r:
                        await SendManifestAsync(r, ct);
                        break;
                    case SignatureRequest r:
                        applier.Settle(r.Path);
                        await SendSignatureAsync(r, ct);
                        break;
                    case MakeDirectory op: applier.MakeDirectory(op); break;
                    case FileBegin op: parker.BeforeChange(op.Path, false); applier.BeginFile(op); break;
                    case FileData op: applier.Data(op); break;
                    case FileEnd op: applier.EndFile(op); break;
                    case DeltaBegin op: parker.BeforeChange(op.Path, false); applier.BeginDelta(op); break;
                    case DeltaData op: applier.DeltaData(op); break;
                    case SymlinkOp op: parker.BeforeChange(op.Path, false); applier.Symlink(op); break;
                    case HardLinkOp op: parker.BeforeChange(op.Path, false); applier.HardLink(op); break;
                    case DeleteOp op: parker.BeforeChange(op.Path, true); applier.Delete(op); break;
                    case SetMetadataOp op: applier.SetMetadata(op); break;
                    case Core.Protocol.Barrier b:
                        applier.Barrier();
                        await conn.SendAsync(new Ack(b.Seq), ct);
                        break;
                    case Ping p:
                        await conn.SendAsync(new Pong(p.Nonce), ct);
                        break;
                    case ControlRequest c:
                        applier.Barrier();
                        await conn.SendAsync(await control(c.Verb, c.Json, ct), ct);
                        if (c.Verb == RestoreVerbs.Resume)
                            return true;
                        break;
                    case CloseJob:
                        applier.Barrier();
                        return false;
                    default:
                        throw new ProtocolException($"unexpected {frame.Message.Type} frame on a restore link");
                }
                foreach (var r in parker.TakePending())
                    await conn.SendAsync(new ControlRequest(RestoreVerbs.Conflict, RestoreJson.Write(r)), ct);
            }
        }
        catch (RestoreStoppedException e)
        {
            events.Record(Severity.Error, "restore", job, e.Message);
            await conn.SendAsync(new ApplyFailed(ErrorCode.Conflict, "", e.Message), ct);
            return false;
        }
        catch (PosixException e)
        {
            var code = e.IsNoSpace ? ErrorCode.NoSpace : e.IsEscape ? ErrorCode.Refused : ErrorCode.Io;
            events.Record(Severity.Error, "restore", job, $"cannot apply the restore: {e.Message}");
            await conn.SendAsync(new ApplyFailed(code, "", $"the source cannot apply the restore: {e.Message}"), ct);
            return false;
        }
    }

    private async Task SendManifestAsync(ManifestRequest r, CancellationToken ct)
    {
        var batch = new List<ManifestItem>(ManifestBatch.MaxItems);
        long count = 0;
        string? error = null;
        try
        {
            if (r.Subtree.IsRoot || tree.Lstat(r.Subtree) is not null)
            {
                foreach (var item in ManifestScan.Scan(tree, r.Subtree, r.WithHashes))
                {
                    // Parked versions are not part of the comparison: the restore must never delete them.
                    if (ConflictParker.IsParked(item.Entry.Path))
                        continue;
                    batch.Add(item);
                    count++;
                    if (batch.Count == ManifestBatch.MaxItems)
                    {
                        await conn.WriteAsync(new ManifestBatch(batch), ct);
                        batch = new List<ManifestItem>(ManifestBatch.MaxItems);
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

    private async Task SendSignatureAsync(SignatureRequest r, CancellationToken ct)
    {
        byte[] sig = [];
        if (tree.Lstat(r.Path) is { Kind: Core.Manifest.EntryKind.File })
        {
            using var f = tree.OpenRead(r.Path);
            var s = SignatureBuilder.Compute((buf, off) => f.Read(buf, off), f.Stat.Size, ct);
            var w = new System.Buffers.ArrayBufferWriter<byte>();
            s.Serialize(w);
            sig = w.WrittenSpan.ToArray();
        }
        foreach (var part in SignatureChunks.Split(r.Path, sig))
            await conn.WriteAsync(part, ct);
        await conn.FlushAsync(ct);
    }
}
