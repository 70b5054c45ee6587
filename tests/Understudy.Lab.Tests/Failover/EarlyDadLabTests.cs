using Understudy.Agent.Events;
using Understudy.Testing.Lab;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.LabTests.Failover;

/// <summary>
/// Issue 21: duplicate address detection during the suspect phase, in the lab with real ARP. The target watches only the
/// source agent's port; the agent stops while its host keeps the service address. The address answers the probes sent
/// while misses accumulate, so the automatic take-over does not take it on early evidence: its own detection finds it
/// answering and refuses, and the take-over is undone.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class EarlyDadLabTests(ITestOutputHelper output)
{
    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents)]
    public async Task AddressAnsweringWhileSourceSuspect_IsNotTaken()
    {
        await using var f = await FailoverLab.CreateAsync();
        await f.ApplyAndProtectAsync(f.FailoverYaml(watch: [$"{{ address: {f.Lab.Source.Address}, method: tcp }}"]));

        await f.Source.StopAsync();
        await FailoverProbe.WaitEventAsync(f.Target, FailoverLab.Job, EventCode.FailoverAborted, TimeSpan.FromSeconds(60));

        var events = await FailoverProbe.EventsAsync(f.Target, FailoverLab.Job);
        foreach (var e in events)
            output.WriteLine(e.ToString());
        var answered = FailoverProbe.One(events, EventCode.EarlyDadAnswered, $"{f.Vip} answered an ARP probe on eth0");
        var triggered = FailoverProbe.One(events, EventCode.FailoverTriggered);
        Assert.True(answered.Time <= triggered.Time, "the answer came in the suspect phase, before the decision");
        FailoverProbe.One(events, EventCode.EarlyDadNotUsed, "answered an ARP probe");
        FailoverProbe.One(events, EventCode.StepAborted, $"refused to add {f.Vip}/24");
        Assert.DoesNotContain(events, e => e.Code is EventCode.AddressKnownFree or EventCode.AddressAdded);
        Assert.Equal(["src"], f.Holders(f.Vip));
        Assert.Equal(0, await f.CountOnTargetAsync(f.Vip));
    }
}
