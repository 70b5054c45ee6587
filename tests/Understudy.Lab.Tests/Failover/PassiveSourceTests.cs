using System.Text;
using Understudy.Agent.Events;
using Understudy.Testing.Lab;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.LabTests.Failover;

/// <summary>§7 (e): the split-brain guard. A source agent that comes back after its job failed over stays passive.</summary>
[Collection(LabCollection.Name)]
public sealed class PassiveSourceTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents)]
    public async Task SourceAgentRestartedAfterFailover_StaysPassive_AndLeavesTheIdentityOnTheTarget()
    {
        await using var f = await FailoverLab.CreateAsync();
        await f.ApplyAndProtectAsync(f.FailoverYaml());
        await using var watch = f.Lab.WatchAddress(f.Vip);
        await f.Lab.CutLinkAsync(f.Lab.Source);
        await FailoverProbe.WaitStateAsync(f.Target, FailoverLab.Job, "failed-over", Deadline);
        // Clients now write to the target: a source that replicated again would overwrite this.
        var written = Encoding.UTF8.GetBytes("written through the target after the fail-over\n");
        await SmbClient.WriteFileAsync(f.Lab.Client, f.Unc, FailoverLab.FileName, written);

        // The source host crashes and comes back. Its service address is host configuration, not the
        // agent's (the agent never adds or removes addresses on a source): it comes back without it.
        f.Source.Kill();
        await f.Lab.RemoveAddressAsync(f.Lab.Source, f.Vip);
        await f.Lab.RestoreLinkAsync(f.Lab.Source);
        // Away longer than the target needs to take over, it fences itself at start (passive before it connects, event
        // 830), and the target's answer to its passive poll confirms the fail-over (832).
        await f.Source.StartAsync();
        await WaitPassiveAsync(f.Source);
        await FailoverProbe.WaitEventAsync(f.Source, FailoverLab.Job, EventCode.SourceFenceConfirmed, Deadline);
        var sourceEvents = await FailoverProbe.EventsAsync(f.Source, FailoverLab.Job);
        foreach (var e in sourceEvents)
            output.WriteLine("source: " + e);
        Assert.Equal("warning", FailoverProbe.One(sourceEvents, EventCode.SourceFenced).Severity);

        // Restarted again while the target agent is down: it stays passive from its own state.
        await f.Target.StopAsync();
        f.Source.Kill();
        await f.Source.StartAsync();
        await WaitPassiveAsync(f.Source);
        await f.Target.StartAsync();
        Assert.Equal("failed-over", (await FailoverProbe.StatusAsync(f.Target, FailoverLab.Job)).State);

        Assert.Equal(written, await SmbClient.ReadFileAsync(f.Lab.Client, f.Unc, FailoverLab.FileName));
        Assert.Equal(["tgt"], f.Holders(f.Vip));
        Assert.Equal(1, await f.CountOnTargetAsync(f.Vip));
        await watch.StopAsync();
        watch.EnsureNeverHeldByBoth(ignoreCutHosts: true);
        var targetEvents = await FailoverProbe.EventsAsync(f.Target, FailoverLab.Job);
        Assert.DoesNotContain(targetEvents, e => e.Code is EventCode.StepsResumed or EventCode.StepUndoResumed);
    }

    private static async Task WaitPassiveAsync(LabAgent source)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var job = await source.StatusAsync(FailoverLab.Job);
            var state = job["state"]?.GetValue<string>();
            if (state == "failed-over (passive)")
                return;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"the source did not turn passive; status: {job.ToJsonString()}");
            await Task.Delay(100);
        }
    }
}
