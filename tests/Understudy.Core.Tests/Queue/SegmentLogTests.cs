using System.Text;
using Understudy.Core.Queue;
using Xunit;

namespace Understudy.Core.Tests.Queue;

public sealed class SegmentLogTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("understudy-queue-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static byte[] Payload(long i) => Encoding.UTF8.GetBytes($"change-{i}-" + new string('x', (int)(i % 50)));

    private SegmentLog Open(long segmentBytes = 64L * 1024 * 1024) =>
        SegmentLog.Open(_dir, new SegmentLogOptions { SegmentBytes = segmentBytes });

    [Fact]
    public void Append_flush_read_returns_records_in_order_from_1()
    {
        using var log = Open();
        for (int i = 1; i <= 100; i++)
            Assert.Equal(i, log.Append(Payload(i)));
        Assert.Empty(log.ReadFrom(1)); // not durable yet
        log.Flush();
        var records = log.ReadFrom(1).ToList();
        Assert.Equal(100, records.Count);
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(i + 1, records[i].Seq);
            Assert.Equal(Payload(i + 1), records[i].Payload.ToArray());
        }
        Assert.Equal(51, log.ReadFrom(51).First().Seq);
    }

    [Fact]
    public void Sequence_continues_and_ack_persists_across_reopen()
    {
        using (var log = Open())
        {
            log.AppendBatch(Enumerable.Range(1, 10).Select(i => (ReadOnlyMemory<byte>)Payload(i)));
            log.Acknowledge(4);
        }
        using (var log = Open())
        {
            Assert.True(log.Recovery.Clean);
            Assert.Equal(4, log.AckedSeq);
            Assert.Equal(11, log.Append(Payload(11)));
            log.Flush();
            Assert.Equal(Enumerable.Range(5, 7).Select(i => (long)i), log.ReadFrom(1).Select(r => r.Seq));
            var stats = log.Stats;
            Assert.Equal(7, stats.PendingCount);
            Assert.Equal(5, stats.FirstSeq);
            Assert.Equal(11, stats.LastSeq);
        }
    }

    [Fact]
    public void Segments_rotate_and_acknowledged_segments_are_deleted()
    {
        using var log = Open(segmentBytes: 8192);
        var payload = new byte[1000];
        for (int i = 0; i < 100; i++)
            log.Append(payload);
        log.Flush();
        int segments = Directory.GetFiles(_dir, "*.seg").Length;
        Assert.True(segments >= 12, $"{segments} segments");
        Assert.Equal(100, log.ReadFrom(1).Count());

        log.Acknowledge(50);
        Assert.True(Directory.GetFiles(_dir, "*.seg").Length <= segments / 2 + 1);
        Assert.Equal(51, log.ReadFrom(1).First().Seq);
        Assert.Equal(50, log.Stats.PendingCount);
        Assert.Equal(50 * (1000 + 24), log.Stats.PendingBytes);

        log.Acknowledge(100);
        Assert.Single(Directory.GetFiles(_dir, "*.seg"));
        Assert.Equal(0, log.Stats.PendingBytes);
        Assert.Null(log.Stats.OldestPendingTimestamp);
        Assert.Equal(101, log.Append(payload));
    }

    [Fact]
    public void Reopen_after_everything_acknowledged_continues_numbering()
    {
        using (var log = Open(segmentBytes: 8192))
        {
            for (int i = 0; i < 30; i++)
                log.Append(new byte[1000]);
            log.Flush();
            log.Acknowledge(30);
        }
        using (var log = Open(segmentBytes: 8192))
        {
            Assert.Equal(31, log.Append([1]));
            log.Flush();
            Assert.Equal(31, log.ReadFrom(1).Single().Seq);
        }
    }

    [Fact]
    public void Stats_report_pending_bytes_and_oldest_timestamp()
    {
        var time = new ManualTime(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
        using var log = SegmentLog.Open(_dir, new SegmentLogOptions { Time = time });
        log.Append(new byte[10]);
        time.Now += TimeSpan.FromSeconds(5);
        log.Append(new byte[20]);
        log.Flush();
        var stats = log.Stats;
        Assert.Equal(2, stats.PendingCount);
        Assert.Equal(24 * 2 + 30, stats.PendingBytes);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), stats.OldestPendingTimestamp);
        log.Acknowledge(1);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_700_000_005), log.Stats.OldestPendingTimestamp);
        Assert.Equal(44, log.Stats.PendingBytes);
        Assert.Throws<ArgumentOutOfRangeException>(() => log.Acknowledge(3));
    }

    [Fact]
    public void Reading_while_appending_sees_new_durable_records()
    {
        using var log = Open(segmentBytes: 8192);
        log.AppendBatch([Payload(1)]);
        var seen = new List<long>();
        foreach (var record in log.ReadFrom(1))
        {
            seen.Add(record.Seq);
            if (record.Seq < 40)
                log.AppendBatch([new byte[500]]); // forces rotations under the reader
        }
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), seen);
    }

    [Fact]
    public async Task Concurrent_writer_and_reader_agree()
    {
        using var log = Open(segmentBytes: 64 * 1024);
        const int Total = 5000;
        var writer = Task.Run(() =>
        {
            for (int i = 1; i <= Total; i += 50)
                log.AppendBatch(Enumerable.Range(i, 50).Select(j => (ReadOnlyMemory<byte>)Payload(j)));
        });
        long next = 1;
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (next <= Total)
        {
            await log.WaitForDurableAsync(next, cts.Token);
            foreach (var record in log.ReadFrom(next))
            {
                Assert.Equal(next, record.Seq);
                Assert.Equal(Payload(next), record.Payload.ToArray());
                next++;
            }
            log.Acknowledge(next - 1);
        }
        await writer;
        Assert.Equal(0, log.Stats.PendingCount);
    }

    [Fact]
    public async Task WaitForAck_completes_when_the_ack_point_reaches_the_seq()
    {
        using var log = Open();
        log.AppendBatch(Enumerable.Range(1, 10).Select(i => (ReadOnlyMemory<byte>)Payload(i)));
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var wait = log.WaitForAckAsync(5, cts.Token);
        log.Acknowledge(3);
        await Task.Yield();
        Assert.False(wait.IsCompleted);
        log.Acknowledge(6);
        await wait;
        Assert.True(log.WaitForAckAsync(6, cts.Token).IsCompletedSuccessfully);
        using var cancel = new CancellationTokenSource();
        var never = log.WaitForAckAsync(11, cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => never);
    }

    [Fact]
    public void Many_records_with_group_commit()
    {
        using var log = Open();
        var payload = new byte[100];
        for (int batch = 0; batch < 100; batch++)
            log.AppendBatch(Enumerable.Repeat((ReadOnlyMemory<byte>)payload, 1000));
        Assert.Equal(100_000, log.Stats.LastSeq);
        Assert.Equal(100_000, log.ReadFrom(1).Count());
    }

    private sealed class ManualTime(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
