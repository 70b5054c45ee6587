using System.Globalization;
using Understudy.Agent.Failover;
using Understudy.Agent.Identity;
using Xunit;

namespace Understudy.Agent.Tests.Failover;

/// <summary>
/// The returning source's fence at start (issue 20, item 4), from what the source kept: a job the target may have taken
/// over while this agent was away is fenced and its address dropped; one back well within the target's detection
/// time, or without fail-over, is left alone. The lab proves it end to end (ReturningSourceFenceTests).
/// </summary>
public sealed class SourceFenceDecisionTests : IDisposable
{
    private const string Job = "docs";
    private const string Holding = "2: eth0    inet 192.0.2.50/24 scope global secondary eth0\\       valid_lft forever preferred_lft forever\n";
    private readonly StoreHarness _h = new();
    private readonly FakeCommandRunner _ip = new() { Respond = (_, a) => new CommandResult(0, a.Contains("show") ? Holding : "", false) };

    private const string Failover = """
        failover:
          monitor:
            addresses: [ { address: 192.0.2.5, method: tcp } ]
            interval: 10s
            misses: 3
          identity:
            addresses: [ { address: 192.0.2.50/24, interface: eth0 } ]

        """;

    private static string Yaml(bool failover = true) => $"""
        name: {Job}
        source:
          paths: [/srv/docs]
        target:
          address: 192.0.2.2:7420
          id: {new string('a', 64)}
          path: /srv/replica

        """ + (failover ? Failover : "");

    private void LastContact(TimeSpan ago) =>
        _h.Store.SetValue("target-contact/" + Job, (DateTimeOffset.UtcNow - ago).ToString("O", CultureInfo.InvariantCulture));

    private Task<IReadOnlyList<EarlyStandDown>> StartAsync() =>
        SourceDemotion.StandDownStoredAsync(_h.Store, TimeProvider.System, new SourceIdentity(_ip, _h.Options, "src"), CancellationToken.None);

    [Fact]
    public async Task NoContactOnRecord_Fences_DropsTheAddress_AndMarksThePassiveFence()
    {
        _h.Store.SaveJob(Job, Yaml());
        var done = Assert.Single(await StartAsync());
        Assert.Contains("no record", done.Why, StringComparison.Ordinal);
        Assert.Contains("ip addr del 192.0.2.50/24 dev eth0", _ip.Lines);
        Assert.Equal(["192.0.2.50/24 on eth0"], done.Down.Dropped);
        Assert.True(PassiveGuard.MustStandDown(_h.Store, Job));
        Assert.StartsWith("fenced at start", PassiveGuard.ReasonFor(_h.Store, Job), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AwayLongerThanTheTargetNeedsToTakeOver_Fences()
    {
        _h.Store.SaveJob(Job, Yaml());
        LastContact(TimeSpan.FromSeconds(25)); // 10 s × (3 − 1) = 20 s
        var done = Assert.Single(await StartAsync());
        Assert.Contains("25.0 s ago", done.Why, StringComparison.Ordinal);
        Assert.Contains("ip addr del 192.0.2.50/24 dev eth0", _ip.Lines);
    }

    [Fact]
    public async Task BackWithinTheTargetsDetectionTime_TouchesNothing()
    {
        _h.Store.SaveJob(Job, Yaml());
        LastContact(TimeSpan.FromSeconds(8));
        Assert.Empty(await StartAsync());
        Assert.Empty(_ip.Lines);
        Assert.Null(PassiveGuard.ReasonFor(_h.Store, Job));
    }

    [Fact]
    public async Task JobWithoutFailover_IsNeverFenced()
    {
        _h.Store.SaveJob(Job, Yaml(failover: false));
        Assert.Empty(await StartAsync());
        Assert.Empty(_ip.Lines);
    }

    [Fact]
    public async Task FencedJob_FencedAgainAtTheNextStart_AsAStandDown()
    {
        _h.Store.SaveJob(Job, Yaml());
        await StartAsync();
        _h.Reopen();
        LastContact(TimeSpan.Zero); // a fenced job does not replicate, so this cannot happen; the mark decides anyway
        var again = Assert.Single(await StartAsync());
        Assert.Null(again.Why); // the job must stand down (event 750), no new fence
        Assert.True(PassiveGuard.IsFence(_h.Store, Job));
    }

    public void Dispose() => _h.Dispose();
}
