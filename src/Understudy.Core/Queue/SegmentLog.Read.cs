namespace Understudy.Core.Queue;

internal sealed partial class SegmentLog
{
    /// <summary>
    /// Durable records from <paramref name="seq"/> on (never below the ack point), in order,
    /// including records made durable while enumerating; ends at the last durable record.
    /// Damage throws <see cref="QueueCorruptException"/>. Each payload is a fresh array.
    /// </summary>
    public IEnumerable<QueueRecord> ReadFrom(long seq)
    {
        long next = seq;
        while (true)
        {
            if (!TryStart(ref next, out var start))
                yield break;
            SegmentReader reader;
            try
            {
                reader = new SegmentReader(start.Segment.Path, start.Offset, _options.MaxPayloadBytes);
            }
            catch (FileNotFoundException)
            {
                continue; // trimmed by an acknowledgement meanwhile: TryStart moves past it
            }
            using (reader)
            {
                long expected = start.Seq;
                while (true)
                {
                    var (limit, isSealed, durableLast) = Snapshot(start.Segment);
                    var status = reader.Next(limit, expected);
                    if (status == ReadStatus.Record)
                    {
                        expected++;
                        if (reader.Seq < next)
                            continue;
                        next = reader.Seq + 1;
                        yield return new QueueRecord(reader.Seq, reader.TimestampUnixMs, reader.Payload.ToArray());
                        continue;
                    }
                    if (status != ReadStatus.End)
                        throw Corrupt(start.Segment, reader.Offset, status);
                    if (isSealed)
                    {
                        if (expected - 1 != start.Segment.LastSeq)
                            throw Corrupt(start.Segment, reader.Offset, ReadStatus.Torn);
                        break;
                    }
                    if (next > durableLast)
                        yield break;
                }
            }
        }
    }

    private bool TryStart(ref long next, out Cursor start)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            next = Math.Max(next, _ackedSeq + 1);
            start = default;
            if (next > _durableLastSeq)
                return false;
            start = Locate(next, scan: false);
            return true;
        }
    }

    private (long Limit, bool Sealed, long DurableLast) Snapshot(Segment segment)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            return (segment.DurableLength, segment != Active, _durableLastSeq);
        }
    }

    /// <summary>
    /// Where record <paramref name="seq"/> is (or will be, past the durable end). With
    /// <paramref name="scan"/> false it may return an earlier record of the same segment, which
    /// readers skip; with it true it reads forward to the exact record (needed for the ack cursor).
    /// </summary>
    private Cursor Locate(long seq, bool scan = true)
    {
        if (seq > _durableLastSeq)
            return new Cursor(Active, Active.DurableLength, _durableLastSeq + 1, 0);
        int index = _segments.Count - 1;
        while (index > 0 && _segments[index].FirstSeq > seq)
            index--;
        var segment = _segments[index];
        var from = _ackCursor.Segment == segment && _ackCursor.Seq <= seq
            ? _ackCursor
            : new Cursor(segment, RecordFormat.SegmentHeaderLength, segment.FirstSeq, 0);
        if (!scan || from.Seq == seq && from.TimestampUnixMs != 0)
            return from;

        using var reader = new SegmentReader(segment.Path, from.Offset, _options.MaxPayloadBytes);
        for (long expected = from.Seq; ; expected++)
        {
            long offset = reader.Offset;
            var status = reader.Next(segment.DurableLength, expected);
            if (status != ReadStatus.Record)
                throw Corrupt(segment, offset, status);
            if (reader.Seq == seq)
                return new Cursor(segment, offset, seq, reader.TimestampUnixMs);
        }
    }

    private static QueueCorruptException Corrupt(Segment segment, long offset, ReadStatus status) =>
        new($"Queue segment {segment.Path} is damaged at offset {offset} ({status}).");
}
