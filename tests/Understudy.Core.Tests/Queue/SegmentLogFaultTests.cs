using System.Text;
using Understudy.Core.Posix;
using Understudy.Core.Queue;
using Xunit;

namespace Understudy.Core.Tests.Queue;

/// <summary>
/// The queue on a failing disk, through the fault-injecting file system (its rules cover only this test's directory,
/// so other tests running meanwhile see the real calls): a failed write or fsync drops the records not yet durable,
/// truncates what was written past the durable end, and the log goes on from its durable end once the disk works.
/// What the agent makes of it is tested with real agents (Agent.Tests, SourceQueueFaultTests).
/// </summary>
public sealed class SegmentLogFaultTests : IDisposable
{
    private readonly string _dir;
    private readonly string _control;
    private readonly FaultingFileSystem _faults;

    public SegmentLogFaultTests()
    {
        // As /proc/self/fd shows it: the rules match descriptors' paths, with every symlink resolved.
        var temp = new DirectoryInfo(Path.GetTempPath().TrimEnd('/')).ResolveLinkTarget(true)?.FullName ?? Path.GetTempPath().TrimEnd('/');
        _dir = Path.Combine(temp, "understudy-queue-faults-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        _control = _dir + ".rules";
        _faults = new FaultingFileSystem(_control);
        FileSystem.Use(_faults);
    }

    public void Dispose()
    {
        FileSystem.Use(RealFileSystem.Instance);
        _faults.Dispose();
        Directory.Delete(_dir, recursive: true);
        File.Delete(_control);
        File.Delete(_control + ".applied");
    }

    private static ReadOnlyMemory<byte> Payload(string s) => Encoding.UTF8.GetBytes(s);

    private string Segment => Directory.GetFiles(_dir, "*.seg").Single();

    private async Task FaultAsync(string ops)
    {
        var rules = ops.Length == 0 ? "" : $"{ops} EIO {_dir}\n";
        File.WriteAllText(_control, rules);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!File.Exists(_control + ".applied") || File.ReadAllText(_control + ".applied") != rules)
        {
            Assert.True(DateTime.UtcNow < deadline, "the fault file system did not read its control file within 30 s");
            await Task.Delay(20);
        }
    }

    [Theory]
    [InlineData("fsync")]
    [InlineData("write")]
    public async Task WriteOrFsyncFails_NotDurableRecordsDropped_TailTruncated_GoesOnWhenCleared(string ops)
    {
        using (var log = SegmentLog.Open(_dir))
        {
            Assert.Equal(2, log.AppendBatch([Payload("a"), Payload("b")]));
            long durableLength = new FileInfo(Segment).Length;

            await FaultAsync(ops);
            var e = Assert.Throws<QueueWriteException>(() => log.AppendBatch([Payload("c"), Payload("d")]));
            Assert.Equal(2, e.Dropped);
            Assert.Equal(5, e.HResult); // EIO: what the agent's reason shows
            Assert.Contains(ops, e.Message, StringComparison.Ordinal);
            Assert.Equal(2, log.Stats.LastSeq);
            Assert.Equal(durableLength, new FileInfo(Segment).Length); // nothing of c, d left to come back after a crash
            Assert.Equal(["a", "b"], log.ReadFrom(1).Select(r => Encoding.UTF8.GetString(r.Payload.Span)));
            Assert.ThrowsAny<IOException>(() => log.Acknowledge(1)); // the ack file is written (and synced) the same way
            Assert.Equal(0, log.AckedSeq);

            await FaultAsync("");
            Assert.Equal(3, log.AppendBatch([Payload("e")])); // the dropped seqs are used again: none was ever read
            log.Acknowledge(1);
            Assert.Equal(["b", "e"], log.ReadFrom(1).Select(r => Encoding.UTF8.GetString(r.Payload.Span)));
        }
        using (var reopened = SegmentLog.Open(_dir))
        {
            Assert.True(reopened.Recovery.Clean);
            Assert.Equal(1, reopened.AckedSeq);
            Assert.Equal(["b", "e"], reopened.ReadFrom(1).Select(r => Encoding.UTF8.GetString(r.Payload.Span)));
        }
    }

    [Fact]
    public async Task TruncateFailsToo_TailTruncatedBeforeTheNextWrite()
    {
        using (var log = SegmentLog.Open(_dir))
        {
            log.AppendBatch([Payload("a")]);
            long durableLength = new FileInfo(Segment).Length;
            await FaultAsync("fsync,truncate");
            Assert.Throws<QueueWriteException>(() => log.AppendBatch([Payload("lost-" + new string('x', 100))]));
            Assert.True(new FileInfo(Segment).Length > durableLength); // written, not synced, could not be cut back

            await FaultAsync("");
            log.AppendBatch([Payload("b")]);
            Assert.Equal(["a", "b"], log.ReadFrom(1).Select(r => Encoding.UTF8.GetString(r.Payload.Span)));
        }
        using var reopened = SegmentLog.Open(_dir);
        Assert.True(reopened.Recovery.Clean, reopened.Recovery.Reason);
        Assert.Equal(["a", "b"], reopened.ReadFrom(1).Select(r => Encoding.UTF8.GetString(r.Payload.Span)));
    }

    [Fact]
    public void DiscardPending_DamagedActiveSegment_NothingOfItStays()
    {
        using (var log = SegmentLog.Open(_dir))
        {
            log.AppendBatch([Payload("a"), Payload("b"), Payload("c")]);
            log.Acknowledge(1);
            var damaged = Segment;
            using (var fs = new FileStream(damaged, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete))
            {
                fs.Seek(-1, SeekOrigin.End);
                fs.WriteByte(0xff);
            }
            Assert.Throws<QueueCorruptException>(() => log.ReadFrom(2).ToList());

            Assert.Equal(2, log.DiscardPending());
            Assert.Equal(3, log.AckedSeq);
            Assert.False(File.Exists(damaged));
            Assert.Equal(4, log.AppendBatch([Payload("d")]));
            Assert.Equal(["d"], log.ReadFrom(1).Select(r => Encoding.UTF8.GetString(r.Payload.Span)));
        }
        using var reopened = SegmentLog.Open(_dir);
        Assert.True(reopened.Recovery.Clean);
        Assert.Equal(["d"], reopened.ReadFrom(1).Select(r => Encoding.UTF8.GetString(r.Payload.Span)));
    }

    [Fact]
    public void Stats_FirstPendingRecordDamaged_AgeUnknownNoThrow()
    {
        using var log = SegmentLog.Open(_dir);
        log.AppendBatch([Payload("a")]);
        log.Acknowledge(1); // the ack cursor now waits past the end: the next Stats reads record 2 to learn its age
        long recordTwo = new FileInfo(Segment).Length;
        log.AppendBatch([Payload("b"), Payload("c")]);
        using (var fs = new FileStream(Segment, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete))
        {
            fs.Seek(recordTwo + 4, SeekOrigin.Begin); // its CRC
            int b = fs.ReadByte();
            fs.Seek(recordTwo + 4, SeekOrigin.Begin);
            fs.WriteByte((byte)(b ^ 0xff));
        }
        var stats = log.Stats; // status and `wait` read it: the damage is the replication loop's to report
        Assert.Equal(2, stats.PendingCount);
        Assert.Null(stats.OldestPendingTimestamp);
        Assert.Throws<QueueCorruptException>(() => log.ReadFrom(2).ToList());
    }
}
