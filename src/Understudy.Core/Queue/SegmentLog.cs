using System.Buffers;
using Understudy.Core.Posix;

namespace Understudy.Core.Queue;

/// <summary>
/// The source's durable replication queue for one job: an append-only log of records in
/// segment files "{first seq:D20}.seg" plus an "ack" file, all in one directory.
/// <para>Format (little-endian): a segment is "USQSEG01" | u64 first seq, then records
/// u32 payload length | u32 CRC-32 of (length, seq, timestamp, payload) | u64 seq | i64 unix ms |
/// payload. Sequence numbers start at 1, are contiguous across segments and continue after a
/// reopen. A segment is sealed once it reaches <see cref="SegmentLogOptions.SegmentBytes"/>.
/// The ack file holds the highest acknowledged seq (see <see cref="AckFile"/>).</para>
/// <para>Durability: <see cref="Append"/> only buffers. <see cref="Flush"/> (or
/// <see cref="AppendBatch"/>) writes and fsyncs once for everything appended before it: group
/// commit. Readers and <see cref="Stats"/> see durable records only, so nothing is ever sent to
/// the target that a crash could take back and reuse the sequence number of.</para>
/// <para>Recovery: on open the last segment is scanned and a torn or corrupt tail is truncated
/// (<see cref="Recovery"/>). Damage found later while reading throws <see cref="QueueCorruptException"/>.</para>
/// <para>Storage faults: every write goes through the file-system seam (<see cref="QueueDirectory"/>). A write or
/// fsync that fails drops every record not yet durable and throws <see cref="QueueWriteException"/> saying how many:
/// after a failed fsync Linux may already have dropped the written pages (marked clean, not written), so a retried
/// fsync that succeeds proves nothing about them; the log goes back to its durable end (the tail past it truncated)
/// and the caller has the changes they stood for caught up another way (a difference mirror).</para>
/// Thread-safe: one lock guards the state; readers hold it only to snapshot limits.
/// </summary>
internal sealed partial class SegmentLog : IDisposable
{
    private const int WriteThreshold = 1024 * 1024;

    private readonly QueueDirectory _dir;
    private readonly SegmentLogOptions _options;
    private readonly Lock _gate = new();
    private readonly List<Segment> _segments = [];
    private readonly ArrayBufferWriter<byte> _pending = new(WriteThreshold * 2);
    private SafeFd _writer = null!; // the active segment, written at _writtenLength (pwrite)
    private long _writtenLength;   // bytes of the active segment handed to the OS
    private bool _tailDirty;       // a failed write may have left bytes past the durable end: truncated before the next
    private long _nextSeq;
    private long _pendingLastSeq;
    private long _durableLastSeq;
    private long _ackedSeq;
    private Cursor _ackCursor;     // where record _ackedSeq + 1 starts (or will start)
    private TaskCompletionSource _durableSignal = NewSignal();
    private TaskCompletionSource _ackSignal = NewSignal();
    private bool _disposed;

    private SegmentLog(QueueDirectory directory, SegmentLogOptions options)
    {
        _dir = directory;
        _options = options;
    }

    public RecoveryReport Recovery { get; private set; } = new(0, 0, null);

    /// <summary>One segment file. LastSeq is the last durable record; DurableLength its end.</summary>
    private sealed class Segment(long firstSeq, string path)
    {
        public long FirstSeq { get; } = firstSeq;

        public string Path { get; } = path;

        /// <summary>The file's name in the queue directory.</summary>
        public string Name { get; } = System.IO.Path.GetFileName(path);

        public long DurableLength { get; set; } = RecordFormat.SegmentHeaderLength;

        public long LastSeq { get; set; } = firstSeq - 1;
    }

    /// <summary>A record position: segment, file offset and the seq of the record there.</summary>
    private readonly record struct Cursor(Segment Segment, long Offset, long Seq, long TimestampUnixMs);

    private Segment Active => _segments[^1];

    public static SegmentLog Open(string directory, SegmentLogOptions? options = null)
    {
        options ??= new SegmentLogOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SegmentBytes, 4096L);
        var dir = QueueDirectory.Open(directory);
        var log = new SegmentLog(dir, options);
        try
        {
            log.Load();
            return log;
        }
        catch
        {
            log._writer?.Dispose();
            dir.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            try
            {
                FlushLocked();
            }
            finally
            {
                _disposed = true;
                _writer.Dispose();
                _dir.Dispose();
                _durableSignal.TrySetException(new ObjectDisposedException(nameof(SegmentLog)));
                _ackSignal.TrySetException(new ObjectDisposedException(nameof(SegmentLog)));
            }
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
