namespace Understudy.Core.Queue;

internal sealed partial class SegmentLog
{
    /// <summary>Buffers one record and returns its seq. Not durable, nor visible to readers, until <see cref="Flush"/>.</summary>
    public long Append(ReadOnlySpan<byte> payload)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            return AppendLocked(payload);
        }
    }

    /// <summary>Appends all payloads and makes them durable with one fsync; returns the last seq.</summary>
    public long AppendBatch(IEnumerable<ReadOnlyMemory<byte>> payloads)
    {
        ArgumentNullException.ThrowIfNull(payloads);
        lock (_gate)
        {
            ThrowIfDisposed();
            long last = _pendingLastSeq;
            foreach (var payload in payloads)
                last = AppendLocked(payload.Span);
            FlushLocked();
            return last;
        }
    }

    /// <summary>Makes every record appended so far durable (one fsync) and visible to readers.</summary>
    public void Flush()
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            FlushLocked();
        }
    }

    /// <summary>Completes once record <paramref name="seq"/> is durable.</summary>
    public async Task WaitForDurableAsync(long seq, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task signal;
            lock (_gate)
            {
                ThrowIfDisposed();
                if (_durableLastSeq >= seq)
                    return;
                signal = _durableSignal.Task;
            }
            await signal.WaitAsync(cancellationToken);
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
        _writer.Write(_pending.WrittenSpan);
        _writtenLength += _pending.WrittenCount;
        _pending.ResetWrittenCount();
    }

    private void FlushLocked()
    {
        if (_pendingLastSeq == _durableLastSeq)
            return;
        WritePending();
        _writer.Flush(flushToDisk: true);
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
        var next = CreateSegment(_nextSeq);
        _writer.Dispose();
        _segments.Add(next);
        _writer = new FileStream(next.Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        _writer.Seek(RecordFormat.SegmentHeaderLength, SeekOrigin.Begin);
        _writtenLength = RecordFormat.SegmentHeaderLength;
        if (_ackCursor.Seq >= next.FirstSeq)
            _ackCursor = new Cursor(next, RecordFormat.SegmentHeaderLength, _ackCursor.Seq, 0);
    }
}
