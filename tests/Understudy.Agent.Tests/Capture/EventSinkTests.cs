using Understudy.Agent.Replication.Capture;
using Understudy.Core.Paths;
using Xunit;

namespace Understudy.Agent.Tests.Capture;

public sealed class EventSinkTests
{
    private static ChangeEvent Created(string p) => new(ChangeKind.Created, RelPath.Parse(p), false);

    private static List<ChangeEvent> Drain(EventSink s)
    {
        var l = new List<ChangeEvent>();
        while (s.Reader.TryRead(out var e))
            l.Add(e);
        return l;
    }

    [Fact]
    public void Full_KeepsLastSlotForOneOverflowMarker()
    {
        var s = new EventSink(4);
        for (int i = 0; i < 10; i++)
            s.Publish(Created($"f{i}"));
        var got = Drain(s);
        Assert.Equal(["f0", "f1", "f2", "."], got.Select(e => e.Path.ToString()));
        Assert.Equal(ChangeKind.Overflow, got[^1].Kind);
        Assert.Equal(7, s.Dropped);
    }

    [Fact]
    public void DropAfterMarkerWasRead_WritesAnotherMarker()
    {
        var s = new EventSink(4);
        for (int i = 0; i < 5; i++)
            s.Publish(Created($"f{i}"));
        Assert.Equal(4, Drain(s).Count);
        for (int i = 0; i < 5; i++)
            s.Publish(Created($"g{i}"));
        var got = Drain(s);
        Assert.Equal(ChangeKind.Overflow, got[^1].Kind);
    }

    [Fact]
    public void RepeatedWriteOfUnreadEvent_IsCoalesced_ButNotOnceRead()
    {
        var s = new EventSink(16);
        var w = new ChangeEvent(ChangeKind.Written, RelPath.Parse("f"), false);
        s.Publish(w);
        s.Publish(w);
        Assert.Single(Drain(s));
        s.Publish(w);
        Assert.Single(Drain(s));
    }

    [Fact]
    public void SubtreeOverflow_InReservedSlot_ThenDrop_EscalatesToRootWhenRoomReturns()
    {
        var s = new EventSink(3);
        s.Publish(Created("a"));
        s.Publish(Created("b"));
        s.Publish(new ChangeEvent(ChangeKind.Overflow, RelPath.Parse("sub"), true)); // takes the reserved slot
        s.Publish(Created("c")); // dropped, not covered by Overflow(sub)
        Assert.True(s.HasPending);
        Assert.True(s.Reader.TryRead(out _));
        s.Flush();
        Assert.False(s.HasPending);
        var got = Drain(s);
        Assert.Equal(ChangeKind.Overflow, got[^1].Kind);
        Assert.True(got[^1].Path.IsRoot);
    }
}
