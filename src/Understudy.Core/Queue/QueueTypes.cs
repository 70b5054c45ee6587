namespace Understudy.Core.Queue;

/// <summary>One change record. <see cref="Payload"/> is owned by the receiver (a fresh array per record).</summary>
internal readonly record struct QueueRecord(long Seq, long TimestampUnixMs, ReadOnlyMemory<byte> Payload);

/// <summary>Queue depth for the replication lag display. Only durable (flushed) records count.</summary>
internal readonly record struct QueueStats(
    long FirstSeq,
    long LastSeq,
    long AckedSeq,
    long PendingCount,
    long PendingBytes,
    DateTimeOffset? OldestPendingTimestamp);

/// <summary>What recovery on open found at the tail of the last segment. <paramref name="DroppedSince"/>: when records
/// were dropped, a time at or before which every one of them was queued (the last record kept, else the segment's
/// creation): what they stood for is in the tree, changed at or after it.</summary>
internal sealed record RecoveryReport(long RecordsKept, long BytesDropped, string? Reason, DateTimeOffset? DroppedSince = null)
{
    public bool Clean => BytesDropped == 0;
}

internal sealed record SegmentLogOptions
{
    /// <summary>A segment is sealed and a new one started once it reaches this size.</summary>
    public long SegmentBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Largest payload accepted; a larger length on disk is treated as corruption.</summary>
    public int MaxPayloadBytes { get; init; } = 16 * 1024 * 1024;

    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>
/// The queue's files are damaged somewhere other than a torn tail (or a segment is missing).
/// Permanent: the caller drops the queue and falls back to a difference mirror.
/// </summary>
internal sealed class QueueCorruptException : Exception
{
    public QueueCorruptException()
    {
    }

    public QueueCorruptException(string message)
        : base(message)
    {
    }

    public QueueCorruptException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// A write or fsync of the queue failed (EIO, ENOSPC, EDQUOT, a read-only file system): the log went back to its
/// durable end and dropped the <see cref="Dropped"/> records that were not durable yet (never visible to a reader).
/// The message and HResult (the errno) are those of the failed call.
/// </summary>
internal sealed class QueueWriteException : IOException
{
    public QueueWriteException()
    {
    }

    public QueueWriteException(string message)
        : base(message)
    {
    }

    public QueueWriteException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public QueueWriteException(IOException failed, long dropped)
        : base(failed?.Message, failed)
    {
        ArgumentNullException.ThrowIfNull(failed);
        HResult = failed.HResult;
        Dropped = dropped;
    }

    /// <summary>Records appended and not yet durable that the failure dropped.</summary>
    public long Dropped { get; }
}
