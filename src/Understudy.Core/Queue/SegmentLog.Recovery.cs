namespace Understudy.Core.Queue;

internal sealed partial class SegmentLog
{
    private void Load()
    {
        _ackedSeq = AckFile.Read(_directory);
        File.Delete(Path.Combine(_directory, "ack.tmp"));

        var found = Directory.EnumerateFiles(_directory, "*.seg")
            .Select(p => (Path: p, Ok: RecordFormat.TryParseSegmentName(System.IO.Path.GetFileName(p), out long first), First: first))
            .Where(s => s.Ok)
            .OrderBy(s => s.First)
            .ToList();

        // Segments wholly acknowledged may survive a crash between the ack write and their deletion.
        while (found.Count > 1 && found[1].First - 1 <= _ackedSeq)
        {
            File.Delete(found[0].Path);
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
            throw new QueueCorruptException($"Queue records {_ackedSeq + 1}..{_segments[0].FirstSeq - 1} are missing from {_directory}.");

        if (_segments.Count == 0 || lastSeq <= _ackedSeq)
        {
            // Everything stored is acknowledged (or nothing is stored): start clean after the ack point.
            foreach (var s in _segments)
                File.Delete(s.Path);
            _segments.Clear();
            lastSeq = Math.Max(lastSeq, _ackedSeq);
            _segments.Add(CreateSegment(lastSeq + 1));
        }

        _nextSeq = lastSeq + 1;
        _pendingLastSeq = _durableLastSeq = lastSeq;
        _writer = new FileStream(Active.Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        _writtenLength = Active.DurableLength;
        _writer.Seek(_writtenLength, SeekOrigin.Begin);
        _ackCursor = Locate(_ackedSeq + 1);
    }

    /// <summary>Scans the last segment and truncates a torn or corrupt tail.</summary>
    private void RecoverTail(Segment segment)
    {
        long fileLength = new FileInfo(segment.Path).Length;
        if (fileLength < RecordFormat.SegmentHeaderLength)
        {
            // Torn while being created: the header is written and synced before any record.
            using var fresh = new FileStream(segment.Path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
            Span<byte> header = stackalloc byte[RecordFormat.SegmentHeaderLength];
            RecordFormat.WriteSegmentHeader(header, segment.FirstSeq);
            fresh.Write(header);
            fresh.Flush(flushToDisk: true);
            Recovery = new RecoveryReport(0, fileLength, "segment header torn");
            return;
        }

        long kept = 0;
        ReadStatus status;
        long goodEnd;
        using (var reader = new SegmentReader(segment.Path, RecordFormat.SegmentHeaderLength, _options.MaxPayloadBytes))
        {
            if (!reader.TryReadSegmentHeader(segment.FirstSeq))
                throw new QueueCorruptException($"Segment {segment.Path} has a damaged header.");
            while ((status = reader.Next(fileLength, segment.FirstSeq + kept)) == ReadStatus.Record)
                kept++;
            goodEnd = reader.Offset;
        }
        segment.DurableLength = goodEnd;
        segment.LastSeq = segment.FirstSeq + kept - 1;
        if (status == ReadStatus.End)
        {
            Recovery = new RecoveryReport(kept, 0, null);
            return;
        }
        using (var truncate = new FileStream(segment.Path, FileMode.Open, FileAccess.Write, FileShare.None, bufferSize: 0))
        {
            truncate.SetLength(goodEnd);
            truncate.Flush(flushToDisk: true);
        }
        Recovery = new RecoveryReport(kept, fileLength - goodEnd, status == ReadStatus.Torn ? "torn record at tail" : "corrupt record at tail");
    }

    private Segment CreateSegment(long firstSeq)
    {
        string path = Path.Combine(_directory, RecordFormat.SegmentName(firstSeq));
        using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0))
        {
            Span<byte> header = stackalloc byte[RecordFormat.SegmentHeaderLength];
            RecordFormat.WriteSegmentHeader(header, firstSeq);
            stream.Write(header);
            stream.Flush(flushToDisk: true);
        }
        DirectorySync.Flush(_directory);
        return new Segment(firstSeq, path);
    }
}
