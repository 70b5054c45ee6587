using System.Net;
using Microsoft.Extensions.Time.Testing;
using Understudy.Agent.Events;
using Understudy.Agent.Failover;
using Understudy.Agent.Identity;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Failover;

/// <summary>
/// Duplicate address detection during the suspect phase (issue 21): the "known free" rule on a fake clock, and the
/// probing loop that feeds it, with a probe that answers as told.
/// </summary>
public sealed class EarlyDadTests
{
    private static readonly TimeSpan Fresh = DadEvidence.Freshness;
    private static readonly InterfaceAddress Vip = new("192.0.2.10/24", "eth0");

    [Fact]
    public void KnownFree_OnlyWithARecentRoundWithoutAnswer()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-07T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var e = new DadEvidence();
        Assert.False(e.Judge(clock.GetUtcNow(), Fresh).KnownFree); // nothing probed yet

        var start = clock.GetUtcNow();
        clock.Advance(DadEvidence.Round);
        e.Clean(start, clock.GetUtcNow(), Fresh);
        var free = e.Judge(clock.GetUtcNow(), Fresh);
        Assert.True(free.KnownFree, free.Detail);
        Assert.Equal(1, free.Rounds);

        // Within the window after the last round: still free. Past it (the loop stalled): no verdict, a full detection.
        clock.Advance(Fresh);
        Assert.True(e.Judge(clock.GetUtcNow(), Fresh).KnownFree);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var stale = e.Judge(clock.GetUtcNow(), Fresh);
        Assert.False(stale.KnownFree);
        Assert.Contains("not within 800 ms", stale.Detail, StringComparison.Ordinal);

        // A later round after a gap longer than the window starts the run afresh: the gap had nobody listening.
        start = clock.GetUtcNow();
        clock.Advance(DadEvidence.Round);
        e.Clean(start, clock.GetUtcNow(), Fresh);
        var again = e.Judge(clock.GetUtcNow(), Fresh);
        Assert.True(again.KnownFree);
        Assert.Equal(1, again.Rounds);
        Assert.Equal(DadEvidence.Round.TotalMilliseconds, again.WindowMs);
    }

    [Fact]
    public void AnAnswer_IsNeverOutweighedByLaterQuietRounds()
    {
        var clock = new FakeTimeProvider();
        var e = new DadEvidence();
        for (int i = 0; i < 3; i++)
        {
            var s = clock.GetUtcNow();
            clock.Advance(DadEvidence.Round);
            e.Clean(s, clock.GetUtcNow(), Fresh);
        }
        e.Answered(clock.GetUtcNow());
        for (int i = 0; i < 3; i++)
        {
            var s = clock.GetUtcNow();
            clock.Advance(DadEvidence.Round);
            e.Clean(s, clock.GetUtcNow(), Fresh);
        }
        var v = e.Judge(clock.GetUtcNow(), Fresh);
        Assert.False(v.KnownFree);
        Assert.Contains("answered an ARP probe", v.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void AFailedRound_OrAClockGoneBack_GivesNoVerdict()
    {
        var clock = new FakeTimeProvider();
        var e = new DadEvidence();
        var s = clock.GetUtcNow();
        clock.Advance(DadEvidence.Round);
        e.Clean(s, clock.GetUtcNow(), Fresh);
        e.Failed("cannot open a packet socket");
        var failed = e.Judge(clock.GetUtcNow(), Fresh);
        Assert.False(failed.KnownFree);
        Assert.Contains("could not be sent", failed.Detail, StringComparison.Ordinal);

        s = clock.GetUtcNow();
        clock.Advance(DadEvidence.Round);
        e.Clean(s, clock.GetUtcNow(), Fresh);
        Assert.True(e.Judge(clock.GetUtcNow(), Fresh).KnownFree);
        Assert.False(e.Judge(clock.GetUtcNow() - TimeSpan.FromSeconds(5), Fresh).KnownFree);
    }

    [Fact]
    public async Task Probing_QuietAddress_KnownFree_UntilEnded()
    {
        var clock = new FakeTimeProvider();
        var probe = new ScriptedDadProbe(() => false);
        var reports = new List<EventCode>();
        await using var p = new SuspectProbing(probe, clock, [Vip], (c, _, _, _) => { lock (reports) reports.Add(c); });
        Assert.Null(p.Verdict(Vip));
        p.Begin();
        await Wait.UntilAsync(() => p.Verdict(Vip)?.KnownFree == true, TimeSpan.FromSeconds(30), "a first round without an answer");
        // The fake answers at once; the loop paces it to a real round's length on the (fake) clock.
        await Wait.UntilAsync(() =>
        {
            clock.Advance(DadEvidence.Round);
            return probe.Calls >= 2;
        }, TimeSpan.FromSeconds(30), "the next round");
        Assert.Null(p.Verdict(new InterfaceAddress("192.0.2.11/24", "eth0")));
        p.End();
        Assert.False(p.Probing);
        Assert.Null(p.Verdict(Vip));
        Assert.Empty(reports);
    }

    [Fact]
    public async Task Probing_AddressThatAnswers_NotKnownFree_SaidOnce_AndProbingOfItStops()
    {
        var clock = new FakeTimeProvider();
        var probe = new ScriptedDadProbe(() => true);
        var reports = new List<EventCode>();
        await using var p = new SuspectProbing(probe, clock, [Vip], (c, _, _, _) => { lock (reports) reports.Add(c); });
        p.Begin();
        await Wait.UntilAsync(() =>
        {
            lock (reports)
                return reports.Count > 0;
        }, TimeSpan.FromSeconds(30), "the answer reported");
        var v = p.Verdict(Vip)!;
        Assert.False(v.KnownFree);
        Assert.Contains("answered an ARP probe", v.Detail, StringComparison.Ordinal);
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(1, probe.Calls);
        lock (reports)
            Assert.Equal([EventCode.EarlyDadAnswered], reports);
    }
}

/// <summary>A duplicate address probe that answers as told (true: another host holds the address), and counts its calls.</summary>
internal sealed class ScriptedDadProbe(Func<bool> inUse) : IDuplicateAddressProbe
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public Task<bool> InUseAsync(string device, IPAddress address, CancellationToken ct)
    {
        Interlocked.Increment(ref _calls);
        return Task.FromResult(inUse());
    }
}
