using Understudy.Core.Posix;

namespace Understudy.Core.Queue;

internal sealed partial class SegmentLog
{
    private void Load()
    {
        _ackedSeq = AckFile.Read(_dir.Path);
        _dir.Delete("ack.tmp");

        var found = Directory.EnumerateFiles(_dir.Path, "*.seg")
            .Select(p => (Path: p, Ok: RecordFormat.TryParseSegmentName(System.IO.Path.GetFileName(p), out long first), First: first))
            .Where(s => s.Ok)
            .OrderBy(s => s.First)
            .ToList();

        // Segments wholly acknowledged may survive a crash between the ack write and their deletion.
        while (found.Count > 1 && found[1].First - 1 <= _ackedSeq)
        {
            _dir.Delete(System.IO.Path.GetFileName(found[0].Path));
            found.RemoveAt(0);
        }
        foreach (var (path, _, first) in found)
            _segments.Add(new Segment(first, path));
        for (int i = 0; i + 1 < _segments.Count; i++)
        {
            _segments[i].LastSeq = _segments[i + 1].FirstSeq - 1;
            _segments[i].DurableLength = new FileInfo(_segments[i].Path).Length;
        }

        if (_segments.Count > 0)
            RecoverTail(Active);

        long lastSeq = _segments.Count > 0 ? Active.LastSeq : _ackedSeq;
        if (_segments.Count > 0 && _segments[0].FirstSeq > _ackedSeq + 1 && lastSeq > _ackedSeq)
            throw new QueueCorruptException($"Queue records {_ackedSeq + 1}..{_segments[0].FirstSeq - 1} are missing from {_dir.Path}.");

        SafeFd? created = null;
        if (_segments.Count == 0 || lastSeq <= _ackedSeq)
        {
            // Everything stored is acknowledged (or nothing is stored): start clean after the ack point.
            foreach (var s in _segments)
                _dir.Delete(s.Name);
            _segments.Clear();
            lastSeq = Math.Max(lastSeq, _ackedSeq);
            created = CreateSegment(lastSeq + 1, out var fresh);
            _segments.Add(fresh);
        }

        _nextSeq = lastSeq + 1;
        _pendingLastSeq = _durableLastSeq = lastSeq;
        _writer = created ?? _dir.OpenForWrite(Active.Name);
        _writtenLength = Active.DurableLength;
        _ackCursor = Locate(_ackedSeq + 1);
    }

    /// <summary>Scans the last segment and truncates a torn or corrupt tail.</summary>
    private void RecoverTail(Segment segment)
    {
        long fileLength = new FileInfo(segment.Path).Length;
        if (fileLength < RecordFormat.SegmentHeaderLength)
        {
            // Torn while being created: the header is written and synced before any record.
            using var fresh = _dir.Create(segment.Name);
            Span<byte> header = stackalloc byte[RecordFormat.SegmentHeaderLength];
            RecordFormat.WriteSegmentHeader(header, segment.FirstSeq);
            _dir.Write(fresh, header, 0, segment.Name);
            _dir.Fsync(fresh, segment.Name);
            Recovery = new RecoveryReport(0, fileLength, "segment header torn");
            return;
        }

        long kept = 0;
        long lastKeptUnixMs = 0;
        ReadStatus status;
        long goodEnd;
        using (var reader = new SegmentReader(segment.Path, RecordFormat.SegmentHeaderLength, _options.MaxPayloadBytes))
        {
            if (!reader.TryReadSegmentHeader(segment.FirstSeq))
                throw new QueueCorruptException($"Segment {segment.Path} has a damaged header.");
            while ((status = reader.Next(fileLength, segment.FirstSeq + kept)) == ReadStatus.Record)
            {
                kept++;
                lastKeptUnixMs = reader.TimestampUnixMs;
            }
            goodEnd = reader.Offset;
        }
        segment.DurableLength = goodEnd;
        segment.LastSeq = segment.FirstSeq + kept - 1;
        if (status == ReadStatus.End)
        {
            Recovery = new RecoveryReport(kept, 0, null);
            return;
        }
        using (var truncate = _dir.OpenForWrite(segment.Name))
        {
            _dir.Truncate(truncate, goodEnd, segment.Name);
            _dir.Fsync(truncate, segment.Name);
        }
        // Records were queued in order, each after the one before and after the segment was made. Torn after a crash,
        // the dropped bytes were never durable, but a record damaged later (bit rot) was, and the ones after it too.
        var since = kept > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(lastKeptUnixMs) : new DateTimeOffset(File.GetCreationTimeUtc(segment.Path));
        Recovery = new RecoveryReport(kept, fileLength - goodEnd, status == ReadStatus.Torn ? "torn record at tail" : "corrupt record at tail", since);
    }

    /// <summary>A new segment starting at <paramref name="firstSeq"/>, its header durable (and its name in the
    /// directory); returns it open for writing.</summary>
    private SafeFd CreateSegment(long firstSeq, out Segment segment)
    {
        segment = new Segment(firstSeq, Path.Combine(_dir.Path, RecordFormat.SegmentName(firstSeq)));
        var fd = _dir.Create(segment.Name);
        try
        {
            Span<byte> header = stackalloc byte[RecordFormat.SegmentHeaderLength];
            RecordFormat.WriteSegmentHeader(header, firstSeq);
            _dir.Write(fd, header, 0, segment.Name);
            _dir.Fsync(fd, segment.Name);
            _dir.Sync();
            return fd;
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }
}
