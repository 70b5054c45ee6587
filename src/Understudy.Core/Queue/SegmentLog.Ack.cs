namespace Understudy.Core.Queue;

internal sealed partial class SegmentLog
{
    /// <summary>
    /// Everything up to <paramref name="seq"/> is safe on the target: persist the ack point, then
    /// delete the segments it covers entirely (the active segment is kept). Idempotent.
    /// </summary>
    public void Acknowledge(long seq)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            if (seq <= _ackedSeq)
                return;
            if (seq > _durableLastSeq)
                throw new ArgumentOutOfRangeException(nameof(seq), $"Cannot acknowledge {seq}: the last durable record is {_durableLastSeq}.");
            AcknowledgeLocked(seq);
        }
    }

    /// <summary>
    /// Gives up every record not acknowledged (the queue is damaged: a record in it cannot be read) and returns how
    /// many: the ack point moves to the last record, and the active segment, if it holds records, is sealed and a
    /// new one started, so that no segment left holds a damaged byte (all others are deleted). The caller has what
    /// they stood for caught up another way (a difference mirror). Nothing is read, so damage does not stop it.
    /// </summary>
    public long DiscardPending()
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            try
            {
                FlushLocked();
                if (Active.LastSeq >= Active.FirstSeq)
                    Rotate();
            }
            catch (IOException e)
            {
                throw Failed(e);
            }
            long discarded = _durableLastSeq - _ackedSeq;
            if (discarded > 0 || _segments.Count > 1)
                AcknowledgeLocked(_durableLastSeq);
            return discarded;
        }
    }

    private void AcknowledgeLocked(long seq)
    {
        AckFile.Write(_dir, seq);
        _ackedSeq = seq;
        try
        {
            bool deleted = false;
            while (_segments.Count > 1 && _segments[0].LastSeq <= seq)
            {
                _dir.Delete(_segments[0].Name);
                _segments.RemoveAt(0);
                deleted = true;
            }
            if (deleted)
                _dir.Sync();
        }
        finally
        {
            // A segment that could not be deleted stays listed: the next acknowledgement deletes it.
            var signal = _ackSignal;
            _ackSignal = NewSignal();
            signal.TrySetResult();
            _ackCursor = Locate(seq + 1); // damage met here throws (QueueCorruptException): DiscardPending sets it anew
        }
    }

    /// <summary>Completes once everything up to <paramref name="seq"/> is acknowledged (see <see cref="Acknowledge"/>).</summary>
    public Task WaitForAckAsync(long seq, CancellationToken cancellationToken) =>
        WaitUntilAsync(() => _ackedSeq, () => _ackSignal.Task, seq, cancellationToken);

    public long AckedSeq
    {
        get
        {
            lock (_gate)
                return _ackedSeq;
        }
    }

    /// <summary>Durable records not yet acknowledged. FirstSeq is the first pending seq.</summary>
    public QueueStats Stats
    {
        get
        {
            lock (_gate)
            {
                ThrowIfDisposed();
                long pendingCount = _durableLastSeq - _ackedSeq;
                bool damaged = false;
                if (pendingCount > 0 && _ackCursor.TimestampUnixMs == 0)
                {
                    try
                    {
                        _ackCursor = Locate(_ackedSeq + 1); // the cursor was set before that record existed
                    }
                    catch (QueueCorruptException)
                    {
                        // The reader that meets it reports it (the replication loop); until then the age is unknown.
                        damaged = true;
                    }
                }
                long bytes = 0;
                bool counting = false;
                foreach (var segment in _segments)
                {
                    if (segment == _ackCursor.Segment)
                    {
                        counting = true;
                        bytes += segment.DurableLength - _ackCursor.Offset;
                    }
                    else if (counting)
                    {
                        bytes += segment.DurableLength - RecordFormat.SegmentHeaderLength;
                    }
                }
                DateTimeOffset? oldest = pendingCount > 0 && !damaged
                    ? DateTimeOffset.FromUnixTimeMilliseconds(_ackCursor.TimestampUnixMs)
                    : null;
                return new QueueStats(_ackedSeq + 1, _durableLastSeq, _ackedSeq, pendingCount, bytes, oldest);
            }
        }
    }
}
