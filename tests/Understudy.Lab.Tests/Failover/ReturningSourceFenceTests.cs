using Understudy.Agent.Events;
using Understudy.Testing;
using Understudy.Testing.Lab;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.LabTests.Failover;

/// <summary>
/// Issue 20, item 4: a source that went down before it heard of its fail-over fences itself at start. It comes back
/// with the service address its OS configures and cannot reach the target, yet the address goes within moments of the
/// agent's start and stays gone; once the link heals the target confirms the take-over and the source stays passive.
/// A source restarted well within the target's detection time fences nothing: a package upgrade is no outage.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class ReturningSourceFenceTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(40);

    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents)]
    public async Task SourceDownBeforeItHeardOfFailover_ComesBackCutOff_FencesAtStartAndStaysPassive()
    {
        await using var f = await FailoverLab.CreateAsync(new FailoverLabOptions { SourceSamba = true });
        await f.ApplyAndProtectAsync(f.FailoverYaml());

        // The source host dies first, then the target loses it and takes over: the source never heard of it.
        f.Source.Kill();
        await f.Lab.CutLinkAsync(f.Lab.Source);
        await FailoverProbe.WaitStateAsync(f.Target, FailoverLab.Job, "failed-over", Deadline);

        // It boots as its OS configures it (the service address on eth0, the share in smb.conf), its link still cut:
        // nothing can tell it the job was failed over.
        Assert.Equal(["src", "tgt"], f.Holders(f.Vip));
        await using var watch = f.Lab.WatchAddress(f.Vip);
        var launched = DateTime.UtcNow;
        await f.Source.StartAsync();
        await Wait.UntilAsync(() => f.Holders(f.Vip).SequenceEqual(["tgt"]), TimeSpan.FromSeconds(10), "the returning source to drop the service address");
        var fenced = await FailoverProbe.WaitEventAsync(f.Source, FailoverLab.Job, EventCode.SourceFenced, Deadline);
        var gone = watch.Changes.First(c => c.At >= launched && !c.Holders.Contains("src"));
        output.WriteLine($"agent launched {launched:HH:mm:ss.fff}, address gone {gone.At:HH:mm:ss.fff} ({(gone.At - launched).TotalMilliseconds:0} ms); event: {fenced}");
        Assert.Contains(f.Vip.ToString(), fenced.Message, StringComparison.Ordinal);
        Assert.True(fenced.Data?["msSinceProcessStart"]?.GetValue<double>() < 10_000, $"the fence came late: {fenced}");

        // It stays gone while the target cannot be reached (several passive polls and stand-down passes, 500 ms each).
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(4);
        await Wait.UntilAsync(() => Task.FromResult(DateTime.UtcNow > until), TimeSpan.FromSeconds(10), "four seconds to pass");
        Assert.DoesNotContain(watch.Changes, c => c.At > gone.At && c.Holders.Contains("src"));
        Assert.Equal("failed-over (passive)", (await f.Source.StatusAsync(FailoverLab.Job))["state"]?.GetValue<string>());

        // The link heals: the target says it holds the identity; the source stays stood down and passive.
        await f.Lab.RestoreLinkAsync(f.Lab.Source);
        await FailoverProbe.WaitEventAsync(f.Source, FailoverLab.Job, EventCode.SourceFenceConfirmed, Deadline);
        await watch.StopAsync();
        var events = await FailoverProbe.EventsAsync(f.Source, FailoverLab.Job);
        foreach (var e in events)
            output.WriteLine("source: " + e);
        Assert.DoesNotContain(watch.Changes, c => c.At > gone.At && c.Holders.Contains("src"));
        Assert.DoesNotContain(events, e => e.Code is EventCode.SourceFenceLifted or EventCode.SourceIdentityRetaken);
        Assert.Equal(["tgt"], f.Holders(f.Vip));
        Assert.Equal("failed-over (passive)", (await f.Source.StatusAsync(FailoverLab.Job))["state"]?.GetValue<string>());
        Assert.Equal("failed-over", (await FailoverProbe.StatusAsync(f.Target, FailoverLab.Job)).State);
        Assert.Equal(FailoverLab.Content, await SmbClient.ReadFileAsync(f.Lab.Client, f.Unc, FailoverLab.FileName));
    }

    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents)]
    public async Task SourceRestartedWithinDetectionTime_CrashOrStop_RemovesNothing()
    {
        await using var f = await FailoverLab.CreateAsync(new FailoverLabOptions { SourceSamba = true });
        // 10 s × 3 misses: the target cannot fail over sooner than 20 s after it loses the source, far more than a restart takes.
        await f.ApplyAndProtectAsync(f.FailoverYaml(interval: "10s"));
        await f.Source.WaitMirroredAsync(FailoverLab.Job);
        await using var watch = f.Lab.WatchAddress(f.Vip);

        // A crash and a clean stop (a package upgrade), each restarted at once.
        f.Source.Kill();
        await f.Source.StartAsync();
        await WaitReplicatingAsync(f);
        await f.Source.StopAsync();
        await f.Source.StartAsync();
        await WaitReplicatingAsync(f);
        await watch.StopAsync();

        var events = await FailoverProbe.EventsAsync(f.Source, FailoverLab.Job);
        foreach (var e in events)
            output.WriteLine("source: " + e);
        Assert.DoesNotContain(events, e => e.Code is EventCode.SourceFenced or EventCode.SourceDemoted or EventCode.SourceIdentityRetaken);
        Assert.All(watch.Changes, c => Assert.Equal(["src"], c.Holders));
        Assert.Equal(FailoverLab.Content, await SmbClient.ReadFileAsync(f.Lab.Client, f.Unc, FailoverLab.FileName));
        Assert.Equal("protecting", (await FailoverProbe.StatusAsync(f.Target, FailoverLab.Job)).State);
    }

    private static Task WaitReplicatingAsync(FailoverLab f) =>
        Wait.UntilAsync(async () => (await f.Source.StatusAsync(FailoverLab.Job))["state"]?.GetValue<string>() == "replicating", Deadline,
            "the source to replicate again");
}
