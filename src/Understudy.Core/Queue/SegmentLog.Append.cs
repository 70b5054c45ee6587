namespace Understudy.Core.Queue;

internal sealed partial class SegmentLog
{
    /// <summary>Buffers one record and returns its seq. Not durable, nor visible to readers, until <see cref="Flush"/>.
    /// A failed write (of a full buffer) drops every record not yet durable: <see cref="QueueWriteException"/>.</summary>
    public long Append(ReadOnlySpan<byte> payload)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            try
            {
                return AppendLocked(payload);
            }
            catch (IOException e)
            {
                throw Failed(e);
            }
        }
    }

    /// <summary>Appends all payloads and makes them durable with one fsync; returns the last seq. A failed write or
    /// fsync drops them (and any record appended before and not yet durable): <see cref="QueueWriteException"/>.</summary>
    public long AppendBatch(IEnumerable<ReadOnlyMemory<byte>> payloads)
    {
        ArgumentNullException.ThrowIfNull(payloads);
        lock (_gate)
        {
            ThrowIfDisposed();
            try
            {
                long last = _pendingLastSeq;
                foreach (var payload in payloads)
                    last = AppendLocked(payload.Span);
                FlushLocked();
                return last;
            }
            catch (IOException e)
            {
                throw Failed(e);
            }
        }
    }

    /// <summary>Makes every record appended so far durable (one fsync) and visible to readers. A failed write or
    /// fsync drops them: <see cref="QueueWriteException"/>.</summary>
    public void Flush()
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            try
            {
                FlushLocked();
            }
            catch (IOException e)
            {
                throw Failed(e);
            }
        }
    }

    /// <summary>Completes once record <paramref name="seq"/> is durable.</summary>
    public Task WaitForDurableAsync(long seq, CancellationToken cancellationToken) =>
        WaitUntilAsync(() => _durableLastSeq, () => _durableSignal.Task, seq, cancellationToken);

    /// <summary>Completes once <paramref name="mark"/> (read under the lock) has reached <paramref name="seq"/>; the
    /// signal it waits on between looks is completed, and replaced, each time that mark moves.</summary>
    private async Task WaitUntilAsync(Func<long> mark, Func<Task> signal, long seq, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task next;
            lock (_gate)
            {
                ThrowIfDisposed();
                if (mark() >= seq)
                    return;
                next = signal();
            }
            await next.WaitAsync(cancellationToken);
        }
    }

    private long AppendLocked(ReadOnlySpan<byte> payload)
    {
        if (payload.Length > _options.MaxPayloadBytes)
            throw new ArgumentOutOfRangeException(nameof(payload), $"Record of {payload.Length} bytes exceeds {_options.MaxPayloadBytes}.");
        int recordLength = RecordFormat.HeaderLength + payload.Length;
        long activeLength = _writtenLength + _pending.WrittenCount;
        if (activeLength > RecordFormat.SegmentHeaderLength && activeLength + recordLength > _options.SegmentBytes)
            Rotate();

        long seq = _nextSeq;
        var span = _pending.GetSpan(recordLength);
        RecordFormat.WriteHeader(span, seq, _options.Time.GetUtcNow().ToUnixTimeMilliseconds(), payload);
        payload.CopyTo(span[RecordFormat.HeaderLength..]);
        _pending.Advance(recordLength);
        _nextSeq = seq + 1;
        _pendingLastSeq = seq;
        if (_pending.WrittenCount >= WriteThreshold)
            WritePending();
        return seq;
    }

    private void WritePending()
    {
        if (_pending.WrittenCount == 0)
            return;
        if (_tailDirty)
        {
            _dir.Truncate(_writer, Active.DurableLength, Active.Name);
            _tailDirty = false;
        }
        _dir.Write(_writer, _pending.WrittenSpan, _writtenLength, Active.Name);
        _writtenLength += _pending.WrittenCount;
        _pending.ResetWrittenCount();
    }

    private void FlushLocked()
    {
        if (_pendingLastSeq == _durableLastSeq)
            return;
        WritePending();
        _dir.Fsync(_writer, Active.Name);
        Active.DurableLength = _writtenLength;
        Active.LastSeq = _pendingLastSeq;
        _durableLastSeq = _pendingLastSeq;
        var signal = _durableSignal;
        _durableSignal = NewSignal();
        signal.TrySetResult();
    }

    /// <summary>Seals the active segment (durably) and starts the next at the next seq.</summary>
    private void Rotate()
    {
        FlushLocked();
        var writer = CreateSegment(_nextSeq, out var next);
        _writer.Dispose();
        _writer = writer;
        _segments.Add(next);
        _writtenLength = RecordFormat.SegmentHeaderLength;
        _tailDirty = false;
        if (_ackCursor.Seq >= next.FirstSeq)
            _ackCursor = new Cursor(next, RecordFormat.SegmentHeaderLength, _ackCursor.Seq, 0);
    }

    /// <summary>
    /// A write or fsync failed: back to the durable end. The records not yet durable are dropped (their seqs are used
    /// again): what a failed fsync leaves of them on disk cannot be trusted, and none was ever visible to a reader.
    /// The bytes written past the durable end are truncated now, or before the next write if that fails too.
    /// </summary>
    private QueueWriteException Failed(IOException e)
    {
        long dropped = _pendingLastSeq - _durableLastSeq;
        _pending.ResetWrittenCount();
        _pendingLastSeq = _durableLastSeq;
        _nextSeq = _durableLastSeq + 1;
        _writtenLength = Active.DurableLength;
        _tailDirty = true;
        try
        {
            _dir.Truncate(_writer, Active.DurableLength, Active.Name);
            _tailDirty = false;
        }
        catch (IOException)
        {
            // Still failing: WritePending truncates first.
        }
        return new QueueWriteException(e, dropped);
    }
}
