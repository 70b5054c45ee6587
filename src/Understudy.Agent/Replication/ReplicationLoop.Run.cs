using Understudy.Agent.Source;
using Understudy.Core.Paths;

namespace Understudy.Agent.Replication;

internal sealed partial class ReplicationLoop
{
    /// <summary>Sends until <see cref="Interrupted"/> or the session fails (its failure is thrown).</summary>
    public async Task RunAsync(SourceSession session, CancellationToken ct)
    {
        var log = Log;
        var sender = SenderFor(session);
        _nextSeq = Math.Max(_nextSeq, log.AckedSeq + 1);
        // Files the last mirror found gone when it came to send them follow the renames queued after its walk.
        if (_mirrorVanished.Count > 0)
            sender.NoteVanished(_mirrorVanished);
        Replicating();
        while (true)
        {
            var wakeUp = wake.Next;
            if (ct.IsCancellationRequested || Interrupted())
                return;
            ApplyAcks(session);
            if (_resendConfirm is { IsCompletedSuccessfully: true })
            {
                missing.Confirmed();
                sender.ConfirmRechecks();
            }
            if (!missing.IsEmpty)
            {
                // Re-sent entries carry no sequence number: a barrier of their own publishes them on the
                // target, and idle waits for its ack.
                _resending = true;
                await missing.ResyncAsync(sender, time.GetUtcNow(), RequestCatchUp, ct);
                await sender.FlushDirMetasAsync(ct);
                _resendConfirm = session.BarrierAsync((ulong)Math.Max(0, _nextSeq - 1), ct);
                _resending = false;
                // The resync read the source as it is now, while changes older than that were still to be sent: applied
                // after it, they may undo part of it without failing. Once they are sent, a difference mirror confirms.
                if (log.Stats.LastSeq >= _nextSeq || pipeline.PendingEvents > 0)
                    _confirmResyncAt ??= Later(time.GetUtcNow(), _lastResyncConfirm + ResyncConfirmEvery);
            }
            int n = 0;
            foreach (var rec in log.ReadFrom(_nextSeq))
            {
                if (ReplicationRecord.TryDecode(rec.Payload.Span, out var r))
                    await sender.SendAsync(r, rec.Seq, ct);
                else
                    CaptureLost(0, RelPath.Root, $"queue record {rec.Seq} is not readable");
                _nextSeq = rec.Seq + 1;
                if (++n % BarrierEvery == 0 || BarrierOverdue(session))
                {
                    await sender.FlushDirMetasAsync(ct);
                    await session.SendBarrierAsync((ulong)rec.Seq, ct);
                    _lastBarrier = _barrierInFlight = rec.Seq;
                    _barrierSentAt = time.GetUtcNow();
                    ApplyAcks(session);
                    if (Interrupted() || session.Faulted.IsCompleted)
                        break;
                }
            }
            if (_nextSeq - 1 > _lastBarrier)
            {
                // Group commit: at most one barrier in flight. Each costs the target a flush and two
                // syncfs; one per small batch made syncfs the bottleneck (lag grew at 1,000 files/s with
                // a short coalescing window). Records sent meanwhile are applied and ride on the next
                // barrier, sent as soon as this one is acknowledged (the wait below includes its ack).
                if (session.AckedSeq >= _barrierInFlight)
                {
                    await sender.FlushDirMetasAsync(ct);
                    await session.SendBarrierAsync((ulong)(_nextSeq - 1), ct);
                    _lastBarrier = _barrierInFlight = _nextSeq - 1;
                    _barrierSentAt = time.GetUtcNow();
                }
                else
                {
                    await session.FlushAsync(ct);
                }
            }
            if (sender.LinksInDoubt && _nextSeq > log.Stats.LastSeq && pipeline.PendingEvents == 0 && missing.IsEmpty)
            {
                // Caught up: names of hard-linked files a walk may have missed while the tree changed are linked now.
                _resending = true;
                if (await sender.RecheckLinksAsync(ct))
                {
                    await sender.FlushDirMetasAsync(ct);
                    _resendConfirm = session.BarrierAsync((ulong)Math.Max(0, _nextSeq - 1), ct);
                }
                _resending = false;
            }
            using var waitCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var waits = new List<Task> { wakeUp, session.Faulted, log.WaitForDurableAsync(_nextSeq, waitCts.Token) };
            if (_confirmResyncAt is { } due && missing.IsEmpty && _nextSeq > log.Stats.LastSeq && pipeline.PendingEvents == 0)
            {
                var now = time.GetUtcNow();
                if (now >= due)
                {
                    _confirmResyncAt = null;
                    _lastResyncConfirm = now;
                    RequestCatchUp("confirming what the target could not apply, resynced while older changes were still queued");
                    continue;
                }
                waits.Add(Task.Delay(due - now, time, waitCts.Token));
            }
            // Compared with the queue's ack point, not the session's: an ack that arrived since the last
            // ApplyAcks completes this wait at once instead of being missed.
            if (log.AckedSeq < _lastBarrier)
                waits.Add(session.AckedAsync((ulong)_lastBarrier));
            if (session.AckedSeq < _barrierInFlight)
                waits.Add(session.AckedAsync((ulong)_barrierInFlight));
            if (!missing.IsEmpty)
                waits.Add(Task.CompletedTask);
            await Task.WhenAny(waits);
            await waitCts.CancelAsync();
            if (session.Faulted.IsCompleted)
                await session.Faulted;
        }
    }
}
