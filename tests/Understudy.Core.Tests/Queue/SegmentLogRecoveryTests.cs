using Understudy.Core.Queue;
using Xunit;

namespace Understudy.Core.Tests.Queue;

public sealed class SegmentLogRecoveryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("understudy-queue-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static byte[] Payload(long i) => [.. BitConverter.GetBytes(i), .. new byte[i % 97]];

    /// <summary>Writes <paramref name="count"/> records and returns each record's end offset in the (single) segment.</summary>
    private List<long> Fill(int count)
    {
        var ends = new List<long>();
        long offset = 16;
        using var log = SegmentLog.Open(_dir);
        for (int i = 1; i <= count; i++)
        {
            log.Append(Payload(i));
            offset += 24 + Payload(i).Length;
            ends.Add(offset);
        }
        log.Flush();
        return ends;
    }

    private string OnlySegment => Directory.GetFiles(_dir, "*.seg").Single();

    [Fact]
    public void Truncation_at_random_offsets_recovers_to_the_last_whole_record()
    {
        var rng = new Random(42);
        var ends = Fill(200);
        var original = File.ReadAllBytes(OnlySegment);
        for (int trial = 0; trial < 40; trial++)
        {
            int cut = rng.Next(16, original.Length);
            File.WriteAllBytes(OnlySegment, original[..cut]);
            int kept = ends.Count(e => e <= cut);
            using (var log = SegmentLog.Open(_dir))
            {
                Assert.Equal(kept, log.Recovery.RecordsKept);
                Assert.Equal(cut - (kept == 0 ? 16 : ends[kept - 1]), log.Recovery.BytesDropped);
                Assert.Equal(kept, log.ReadFrom(1).Count());
                Assert.Equal(kept + 1, log.Append([1, 2, 3]));
                log.Flush();
            }
            using (var log = SegmentLog.Open(_dir))
            {
                Assert.True(log.Recovery.Clean);
                Assert.Equal(kept + 1, log.ReadFrom(1).Last().Seq);
            }
            File.WriteAllBytes(OnlySegment, original);
        }
    }

    [Fact]
    public void Flipped_byte_in_the_tail_is_detected_and_dropped()
    {
        var ends = Fill(50);
        var bytes = File.ReadAllBytes(OnlySegment);
        bytes[(int)ends[44] + 30] ^= 0x01; // inside record 46's payload
        File.WriteAllBytes(OnlySegment, bytes);

        using var log = SegmentLog.Open(_dir);
        Assert.Equal(45, log.Recovery.RecordsKept);
        Assert.Equal(bytes.Length - ends[44], log.Recovery.BytesDropped);
        Assert.Equal(45, log.ReadFrom(1).Last().Seq);
        Assert.Equal(Payload(45), log.ReadFrom(45).Single().Payload.ToArray());
    }

    [Fact]
    public void Torn_segment_header_is_rewritten()
    {
        Fill(1);
        File.WriteAllBytes(OnlySegment, [0x55, 0x53]);
        using var log = SegmentLog.Open(_dir);
        Assert.Equal(2, log.Recovery.BytesDropped);
        Assert.Equal(1, log.Append([9]));
    }

    [Fact]
    public void Corruption_in_an_older_segment_throws_QueueCorruptException_when_read()
    {
        using (var log = SegmentLog.Open(_dir, new SegmentLogOptions { SegmentBytes = 8192 }))
        {
            for (int i = 0; i < 40; i++)
                log.Append(new byte[1000]);
            log.Flush();
        }
        var first = Directory.GetFiles(_dir, "*.seg").Order(StringComparer.Ordinal).First();
        var bytes = File.ReadAllBytes(first);
        bytes[3000] ^= 0xFF;
        File.WriteAllBytes(first, bytes);

        using (var log = SegmentLog.Open(_dir, new SegmentLogOptions { SegmentBytes = 8192 }))
        {
            Assert.True(log.Recovery.Clean); // only the last segment is scanned on open
            Assert.Throws<QueueCorruptException>(() => log.ReadFrom(1).Count());
        }
    }

    [Fact]
    public void Missing_segment_is_reported_as_corruption()
    {
        using (var log = SegmentLog.Open(_dir, new SegmentLogOptions { SegmentBytes = 8192 }))
        {
            for (int i = 0; i < 40; i++)
                log.Append(new byte[1000]);
            log.Flush();
        }
        File.Delete(Directory.GetFiles(_dir, "*.seg").Order(StringComparer.Ordinal).First());
        Assert.Throws<QueueCorruptException>(() => SegmentLog.Open(_dir, new SegmentLogOptions { SegmentBytes = 8192 }));
    }

    [Fact]
    public void Damaged_ack_file_is_reported_as_corruption()
    {
        Fill(3);
        using (var log = SegmentLog.Open(_dir))
            log.Acknowledge(2);
        File.WriteAllBytes(Path.Combine(_dir, "ack"), [1, 2, 3]);
        Assert.Throws<QueueCorruptException>(() => SegmentLog.Open(_dir));
    }
}
