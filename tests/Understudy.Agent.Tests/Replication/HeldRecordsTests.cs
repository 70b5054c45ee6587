using Understudy.Agent.Replication;
using Understudy.Core.Queue;
using Xunit;

namespace Understudy.Agent.Tests.Replication;

public sealed class HeldRecordsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);

    private static QueueStats Stats(long acked, long last) => new(1, last, acked, last - acked, 100, T0);

    [Fact]
    public void OldestUnacknowledged_IsTheFirstHeldWriteOfARecordNotAcknowledged_AndForgetsAcknowledgedOnes()
    {
        var h = new HeldRecords(TimeSpan.FromSeconds(1));
        h.Add(3, T0, T0 + TimeSpan.FromSeconds(1));
        h.Add(7, T0 + TimeSpan.FromSeconds(1.2), T0 + TimeSpan.FromSeconds(2));

        Assert.Equal(T0, h.OldestUnacknowledged(Stats(acked: 2, last: 8)));
        Assert.Equal(T0 + TimeSpan.FromSeconds(1.2), h.OldestUnacknowledged(Stats(acked: 3, last: 8)));
        Assert.Null(h.OldestUnacknowledged(Stats(acked: 7, last: 8)));
    }

    [Fact]
    public void AQueueWithNothingPending_OrReset_ForgetsEverything()
    {
        var h = new HeldRecords(TimeSpan.FromSeconds(1));
        h.Add(5, T0, T0 + TimeSpan.FromSeconds(1));
        Assert.Null(h.OldestUnacknowledged(Stats(acked: 4, last: 4)));

        h.Add(50, T0, T0 + TimeSpan.FromSeconds(1));
        Assert.Null(h.OldestUnacknowledged(Stats(acked: 1, last: 3))); // the queue was reset: seq 50 is no record of it
    }
}
