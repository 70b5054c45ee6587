using System.IO.Pipelines;
using Understudy.Agent.Peer;
using Understudy.Core.Protocol;
using Understudy.Core.WriteOrder;

namespace Understudy.Agent.Target;

/// <summary>
/// The target of a write-order job (docs/adr/0001-write-order-mode.md): takes each point's frames
/// (PointBegin, PointData…, PointEnd) into the job's <see cref="PointJournal"/>, where the stream is checked and
/// made durable before it counts as received, applies it to the replica with <see cref="PointApplier"/> (redo-safe,
/// synced), and answers PointApplied. A point cut short (the link lost, an abort) is dropped whole; the replica
/// only ever changes from one complete point to the next. A base (PointBegin with parent -1) follows a mirror of
/// the point's snapshot: the journal starts again from it.
/// </summary>
internal sealed class PointReceiver(TargetService service, HostedJobInfo job) : IAsyncDisposable
{
    private PointBegin? _current;
    private Pipe? _pipe;
    private Task? _receive;
    private CancellationTokenSource? _receiveCts;

    private string Dir => service.JournalDir(job);

    public async Task OnFrameAsync(Message m, Func<Task> makeDurable, PeerConnection conn, CancellationToken ct)
    {
        switch (m)
        {
            case PointBegin b:
                if (_current is not null)
                    throw new ProtocolException($"PointBegin {b.Point} while point {_current.Point} is open");
                if (b.Parent >= 0)
                {
                    // The delta is against the point the replica holds, nothing else: another parent would corrupt it.
                    var held = service.Held(job);
                    if (held?.Point != b.Parent)
                        throw new ApplyRefusedException(ErrorCode.Conflict, $"write-order point {b.Point} is a delta from point {b.Parent}, but the replica holds {(held is null ? "no point" : $"point {held.Point}")}");
                    var journal = PointJournal.Open(Dir);
                    _pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 4 << 20, resumeWriterThreshold: 2 << 20));
                    _receiveCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    var reader = _pipe.Reader.AsStream();
                    _receive = Task.Run(() => journal.ReceiveAsync(b.Point, reader, _receiveCts.Token, takenAtNs: b.TakenAtNs), CancellationToken.None);
                }
                else
                {
                    service.ForgetPoints(job);
                }
                _current = b;
                break;
            case PointData d:
                if (_current is null || _pipe is null)
                    throw new ProtocolException("PointData outside a point's stream");
                var flushed = await _pipe.Writer.WriteAsync(d.Data, ct);
                if (flushed.IsCompleted)
                    await _receive!; // the journal stopped reading: its exception says why
                break;
            case PointEnd e:
                if (_current is not { } cur || cur.Point != e.Point || cur.TakenAtNs != e.TakenAtNs)
                    throw new ProtocolException($"PointEnd {e.Point} does not end the open point {_current?.Point.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(none)"}");
                if (e.Abort)
                {
                    await DropAsync();
                    break;
                }
                if (cur.Parent < 0)
                {
                    await makeDurable(); // the mirror's files published and synced: the replica is the point
                    PointJournal.Rebase(Dir, cur.Point, cur.TakenAtNs);
                }
                else
                {
                    await _pipe!.Writer.CompleteAsync();
                    await _receive!;
                    Reset();
                    using var applier = service.NewPointApplier(job.SourceId, job.TargetPath);
                    PointJournal.Open(Dir).ApplyPending(applier);
                }
                _current = null;
                service.NoteApplied(job, cur.Point, cur.TakenAtNs);
                await conn.SendAsync(new PointApplied(cur.Point), ct);
                break;
            case PointCurrent c:
                service.NoteCurrent(job, c.Point, c.AsOfNs);
                break;
        }
    }

    /// <summary>Drops a point not received whole: the journal deletes its <c>.part</c>, the state stays.</summary>
    private async Task DropAsync()
    {
        if (_receive is not null)
        {
            await _receiveCts!.CancelAsync();
            await _pipe!.Writer.CompleteAsync(new OperationCanceledException("point aborted"));
            try
            {
                await _receive;
            }
            catch (Exception)
            {
                // expected: the receive was cut short on purpose
            }
        }
        Reset();
        _current = null;
    }

    private void Reset()
    {
        _receiveCts?.Dispose();
        _receiveCts = null;
        _pipe = null;
        _receive = null;
    }

    public async ValueTask DisposeAsync() => await DropAsync();
}
