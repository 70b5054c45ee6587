using Understudy.Core.Jobs;
namespace Understudy.Agent.Source;

/// <summary>Live counters of one mirror run, read by status while the run updates them.</summary>
internal sealed class MirrorProgress(MirrorMode mode, TimeProvider time)
{
    private long _filesDone;
    private long _bytesDone;
    private long _bytesSent;

    public MirrorMode Mode { get; } = mode;

    public DateTimeOffset StartedAt { get; } = time.GetUtcNow();

    public DateTimeOffset? FinishedAt { get; set; }

    public string Phase { get; set; } = "scanning";

    public long FilesTotal { get; set; }

    public long BytesTotal { get; set; }

    public long FilesScanned { get; set; }

    public long FilesDone => Interlocked.Read(ref _filesDone);

    public long BytesDone => Interlocked.Read(ref _bytesDone);

    /// <summary>Bytes that went over the wire for this run (after delta and compression).</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    public long Skipped { get; set; }

    public long OrphansKept { get; set; }

    public long OrphansDeleted { get; set; }

    public void AddFile() => Interlocked.Increment(ref _filesDone);

    public void AddBytes(long n) => Interlocked.Add(ref _bytesDone, n);

    public void SetBytesSent(long n) => Interlocked.Exchange(ref _bytesSent, n);

    public double RateBytesPerSecond(DateTimeOffset now)
    {
        var secs = ((FinishedAt ?? now) - StartedAt).TotalSeconds;
        return secs > 0 ? BytesDone / secs : 0;
    }

    public double? EtaSeconds(DateTimeOffset now)
    {
        var rate = RateBytesPerSecond(now);
        if (FinishedAt is not null)
            return 0;
        if (rate <= 0 || BytesTotal <= 0)
            return null;
        return Math.Max(0, (BytesTotal - BytesDone) / rate);
    }
}
