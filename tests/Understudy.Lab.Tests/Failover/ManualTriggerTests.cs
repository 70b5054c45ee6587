using Understudy.Agent.Events;
using Understudy.Testing.Lab;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.LabTests.Failover;

/// <summary>§7 (c): with trigger manual a lost source only raises "fail-over pending"; an operator decides.</summary>
[Collection(LabCollection.Name)]
public sealed class ManualTriggerTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents)]
    public async Task ManualTrigger_WaitsPending_DismissStandsDown_FailoverCommandTakesOver()
    {
        await using var f = await FailoverLab.CreateAsync();
        await f.ApplyAndProtectAsync(f.FailoverYaml(trigger: "manual"));
        var peer = f.Lab.Source.Address.ToString();
        await using var watch = f.Lab.WatchAddress(f.Vip);

        await f.Lab.CutLinkAsync(f.Lab.Source);
        var pending = await FailoverProbe.WaitStateAsync(f.Target, FailoverLab.Job, "fail-over-pending", Deadline);
        await FailoverProbe.WaitEventAsync(f.Target, FailoverLab.Job, EventCode.FailoverPending, Deadline);
        // Nothing changes while it waits: three more probe rounds, and the address is still only on the (cut) source.
        var later = await FailoverProbe.WaitAsync(f.Target, FailoverLab.Job, s => s.MissesOf(peer) >= pending.MissesOf(peer) + 3, "three more probes while pending", Deadline);
        Assert.Equal("fail-over-pending", later.State);
        Assert.Equal(["src"], f.Holders(f.Vip));
        Assert.Equal(0, await f.CountOnTargetAsync(f.Vip));

        var dismiss = await f.Target.CliAsync(["failover", FailoverLab.Job, "--dismiss"]);
        Assert.True(dismiss.ExitCode == 0, dismiss.Stderr + dismiss.Stdout);
        var dismissed = await FailoverProbe.StatusAsync(f.Target, FailoverLab.Job);
        Assert.Equal("protecting", dismissed.State);
        Assert.True(dismissed.Dismissed);
        // The dismissal holds for this outage: more probes go unanswered and nothing is raised again.
        later = await FailoverProbe.WaitAsync(f.Target, FailoverLab.Job, s => s.MissesOf(peer) >= dismissed.MissesOf(peer) + 3, "three more probes after the dismissal", Deadline);
        Assert.Equal("protecting", later.State);
        Assert.Equal(0, await f.CountOnTargetAsync(f.Vip));

        // The source comes back: the dismissal is forgotten, so the next outage raises pending again.
        await f.Lab.RestoreLinkAsync(f.Lab.Source);
        await FailoverProbe.WaitAsync(f.Target, FailoverLab.Job, s => s.IsProtectingAndUp && !s.Dismissed, "protecting again, dismissal forgotten", Deadline);
        await f.Lab.CutLinkAsync(f.Lab.Source);
        await FailoverProbe.WaitStateAsync(f.Target, FailoverLab.Job, "fail-over-pending", Deadline);
        Assert.Equal(0, await f.CountOnTargetAsync(f.Vip));

        var run = await f.Target.CliAsync(["failover", FailoverLab.Job]);
        Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);
        Assert.Contains("failed-over", run.Stdout, StringComparison.Ordinal);
        Assert.Equal("failed-over", (await FailoverProbe.StatusAsync(f.Target, FailoverLab.Job)).State);
        Assert.Equal(1, await f.CountOnTargetAsync(f.Vip));
        Assert.Equal(FailoverLab.Content, await SmbClient.ReadFileAsync(f.Lab.Client, f.Unc, FailoverLab.FileName));
        await watch.StopAsync();
        watch.EnsureNeverHeldByBoth(ignoreCutHosts: true);

        var events = await FailoverProbe.EventsAsync(f.Target, FailoverLab.Job);
        foreach (var e in events)
            output.WriteLine(e.ToString());
        Assert.Equal(2, events.Count(e => e.Is(EventCode.FailoverPending)));
        FailoverProbe.One(events, EventCode.SourceRecovered, "fail-over dismissed by an operator");
        FailoverProbe.One(events, EventCode.FailoverTriggered, "fail-over confirmed by an operator");
        FailoverProbe.One(events, EventCode.FailoverCompleted);
    }
}
