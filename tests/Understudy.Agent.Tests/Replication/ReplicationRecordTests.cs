using Understudy.Agent.Replication;
using Understudy.Core.Paths;
using Xunit;

namespace Understudy.Agent.Tests.Replication;

public sealed class ReplicationRecordTests
{
    [Fact]
    public void EncodeDecode_RoundTrips_WithAndWithoutInodeAndTime()
    {
        ReplicationRecord[] records =
        [
            new(RecordKind.Upsert, 0, RelPath.Parse("a/b")),
            new(RecordKind.Upsert, 2, RelPath.Parse("linked"), Inode: (0x801, 123456789012)),
            new(RecordKind.Rename, 1, RelPath.Parse("d"), true, RelPath.Parse("e/f")),
            new(RecordKind.Delete, 0, RelPath.Parse("x"), true),
            new(RecordKind.Upsert, 0, RelPath.Parse("timed"), QueuedAtNs: 1_796_000_000_123_456_789),
            new(RecordKind.Rename, 0, RelPath.Parse("l"), false, RelPath.Parse("m"), (7, 8), -5),
        ];
        foreach (var r in records)
        {
            Assert.True(ReplicationRecord.TryDecode(r.Encode(), out var back), r.ToString());
            Assert.Equal(r, back);
        }
    }

    [Fact]
    public void Decode_TruncatedInode_IsRejected()
    {
        var b = new ReplicationRecord(RecordKind.Upsert, 0, RelPath.Parse("f"), Inode: (1, 2)).Encode();
        Assert.False(ReplicationRecord.TryDecode(b.AsSpan(0, b.Length - 1), out _));
    }

    [Fact]
    public void Decode_TruncatedTime_IsRejected_AndARecordWithoutOneReadsAsBefore()
    {
        var b = new ReplicationRecord(RecordKind.Upsert, 0, RelPath.Parse("f"), QueuedAtNs: 42).Encode();
        Assert.False(ReplicationRecord.TryDecode(b.AsSpan(0, b.Length - 1), out _));
        Assert.True(ReplicationRecord.TryDecode(new ReplicationRecord(RecordKind.Upsert, 0, RelPath.Parse("f")).Encode(), out var old));
        Assert.Null(old.QueuedAtNs);
    }
}
