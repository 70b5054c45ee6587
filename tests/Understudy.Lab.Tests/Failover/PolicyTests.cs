using Understudy.Agent.Events;
using Understudy.Testing.Lab;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.LabTests.Failover;

/// <summary>
/// §7 (b): the target watches the source agent's peer port (tcp) and the service address (icmp).
/// Taking the service address off the source loses one of the two; cutting the link loses both.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class PolicyTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents)]
    public async Task PolicyAll_OneOfTwoAddressesLost_DoesNotFailOver_BothLost_FailsOver()
    {
        await using var f = await FailoverLab.CreateAsync();
        await f.ApplyAndProtectAsync(f.FailoverYaml(policy: "all", identity: false));
        var vip = f.Vip.ToString();
        var peer = f.Lab.Source.Address.ToString();

        await f.Lab.RemoveAddressAsync(f.Lab.Source, f.Vip);
        // Lost (3 misses) and then three more probes: time enough for a wrong decision to show.
        var s = await FailoverProbe.WaitAsync(f.Target, FailoverLab.Job, s => s.MissesOf(vip) >= 6, "the service address to stay lost for 6 probes", Deadline);
        Assert.Equal("suspect", s.State);
        Assert.Equal("up", s.StateOf(peer));
        var events = await FailoverProbe.EventsAsync(f.Target, FailoverLab.Job);
        FailoverProbe.Missed(events, $"{vip} (icmp)", 3);
        Assert.DoesNotContain(events, e => e.Is(EventCode.FailoverTriggered));

        await f.Lab.CutLinkAsync(f.Lab.Source);
        await FailoverProbe.WaitStateAsync(f.Target, FailoverLab.Job, "failed-over", Deadline);
        events = await FailoverProbe.EventsAsync(f.Target, FailoverLab.Job);
        foreach (var e in events)
            output.WriteLine(e.ToString());
        FailoverProbe.Missed(events, $"{peer} (tcp port 7420)", 3);
        FailoverProbe.One(events, EventCode.FailoverTriggered, "all 2 watched addresses lost (3 consecutive misses; policy all)");
    }

    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents)]
    public async Task PolicyAny_OneOfTwoAddressesLost_FailsOver()
    {
        await using var f = await FailoverLab.CreateAsync();
        await f.ApplyAndProtectAsync(f.FailoverYaml(policy: "any", identity: false));

        await f.Lab.RemoveAddressAsync(f.Lab.Source, f.Vip);
        var s = await FailoverProbe.WaitStateAsync(f.Target, FailoverLab.Job, "failed-over", Deadline);
        Assert.Equal("up", s.StateOf(f.Lab.Source.Address.ToString()));
        var events = await FailoverProbe.EventsAsync(f.Target, FailoverLab.Job);
        foreach (var e in events)
            output.WriteLine(e.ToString());
        FailoverProbe.One(events, EventCode.FailoverTriggered, "1 of 2 watched addresses lost (3 consecutive misses; policy any)");
        Assert.DoesNotContain(events, e => e.IsMiss($"{f.Lab.Source.Address} (tcp port 7420)"));
    }
}
