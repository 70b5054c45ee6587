using Understudy.Core.Api;
using Xunit;

namespace Understudy.Core.Tests.Api;

/// <summary>When the target takes the replica to have been complete, from the source's last report (issue 17: the start
/// of file mode's RPO at fail-over). The figure may start early, never late.</summary>
public sealed class SourceQueueReportTests
{
    private static readonly DateTimeOffset Arrived = new(2026, 1, 1, 10, 0, 2, TimeSpan.Zero);

    [Fact]
    public void CompleteAsOf_AReportThatWaitedBehindData_CountsFromTheSourcesOwnDate()
    {
        // Made at 10:00:00 (oldest 1 s old: 09:59:59), it arrived 2 s later: arrival − age alone says 10:00:01, late by the wait.
        var r = new SourceQueueReport(3, 100, 1, Arrived.ToString("O"), OldestPendingAt: Arrived.AddSeconds(-3).ToString("O"));
        Assert.Equal(Arrived.AddSeconds(-3), r.CompleteAsOf());
    }

    [Fact]
    public void CompleteAsOf_ASourceClockAhead_CountsFromArrivalMinusAge()
    {
        var r = new SourceQueueReport(3, 100, 1, Arrived.ToString("O"), OldestPendingAt: Arrived.AddSeconds(30).ToString("O"));
        Assert.Equal(Arrived.AddSeconds(-1), r.CompleteAsOf());
    }

    [Fact]
    public void CompleteAsOf_FromAnOlderSource_OrUnbounded()
    {
        Assert.Equal(Arrived.AddSeconds(-1), new SourceQueueReport(3, 100, 1, Arrived.ToString("O")).CompleteAsOf());
        Assert.Null(new SourceQueueReport(3, 100, 1, Arrived.ToString("O"), MirrorPending: true).CompleteAsOf());
        Assert.Null(new SourceQueueReport(3, 100, 1, Arrived.ToString("O"), RemirrorRequired: true).CompleteAsOf());
    }
}
