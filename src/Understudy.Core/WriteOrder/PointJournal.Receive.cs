namespace Understudy.Core.WriteOrder;

/// <summary>Receiving and applying points. The order is the whole guarantee: a point's stream is durable
/// and whole before the state says "received", the replica is synced before it says "applied", and
/// nothing else ever moves the state.</summary>
internal sealed partial class PointJournal
{
    /// <summary>Takes point <paramref name="point"/>'s stream from <paramref name="source"/> into the journal:
    /// checked command by command while it is written (CRC, limits, an End at the end), fsynced, renamed
    /// into place, then recorded as received. A stream cut short or damaged throws and leaves nothing
    /// behind; the state is unchanged. Only a point after the applied one is taken (numbers may skip: the
    /// source coalesces points that piled up and numbers them by its snapshots), and only when no point is
    /// pending; the caller checks that its delta is from the applied point. <paramref name="takenAtNs"/>:
    /// when its snapshot was taken, kept with it.</summary>
    public async Task ReceiveAsync(long point, Stream source, CancellationToken ct, SendStreamLimits? limits = null, long takenAtNs = 0)
    {
        if (State.Pending)
            throw new InvalidOperationException($"point {State.Received} is received but not applied: apply it before receiving {point}");
        if (point <= State.Applied)
            throw new InvalidOperationException($"point {point} does not follow the applied point {State.Applied}");
        string part = PartPath(point);
        try
        {
            await using (var file = new FileStream(part, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                var reader = new SendStreamReader(new TeeStream(source, file), limits);
                await reader.ReadHeaderAsync(ct).ConfigureAwait(false);
                bool first = true;
                while (true)
                {
                    var c = await reader.ReadCommandAsync(ct).ConfigureAwait(false)
                        ?? throw new InvalidSendStreamException("stream ends without an End command (not fully received)", reader.Position);
                    if (first && c.Kind is not (SendCommandKind.Snapshot or SendCommandKind.Subvol))
                        throw new InvalidSendStreamException($"stream starts with {c.Kind}, not Snapshot or Subvol", c.Offset);
                    first = false;
                    if (c.Kind == SendCommandKind.End)
                        break;
                }
                await file.FlushAsync(ct).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }
            File.Move(part, StreamPath(point), overwrite: true);
            FsyncDirectory(_dir);
        }
        catch
        {
            File.Delete(part);
            throw;
        }
        Write(new PointState(State.Applied, point, 0, State.AppliedTakenNs, takenAtNs));
    }

    /// <summary>Applies the pending point to the replica (from its recorded progress: this is also the redo
    /// after a crash), syncs the replica's file system and records the point applied. No-op when nothing is
    /// pending. Returns the applied point.</summary>
    public long ApplyPending(PointApplier applier)
    {
        var s = State;
        if (!s.Pending)
            return s.Applied;
        using (var file = new FileStream(StreamPath(s.Received), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
        {
            var reader = new SendStreamReader(file);
            reader.ReadHeader();
            applier.Apply(reader, s.Next, next => Write(s with { Next = next }));
        }
        applier.SyncFs();
        Write(new PointState(s.Received, s.Received, 0, s.ReceivedTakenNs, s.ReceivedTakenNs));
        File.Delete(StreamPath(s.Received));
        return s.Received;
    }

    /// <summary>Start-up and fail-over: opens the journal and finishes a point that was received but not
    /// applied, so the replica equals exactly one source point before anyone reads it.</summary>
    public static PointJournal Recover(string dir, PointApplier applier)
    {
        var j = Open(dir);
        j.ApplyPending(applier);
        return j;
    }
}
