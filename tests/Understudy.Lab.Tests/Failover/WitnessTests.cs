using Understudy.Agent.Events;
using Understudy.Testing;
using Understudy.Testing.Lab;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.LabTests.Failover;

/// <summary>
/// Issue 22, item 1: automatic fail-over behind an etcd witness, with a real etcd on its own lab host. The service
/// address is watched every 5 ms from outside every host's namespace: it must never be on two reachable hosts.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class WitnessTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(40);

    private static async Task<(FailoverLab F, EtcdWitness Etcd)> StartAsync()
    {
        var f = await FailoverLab.CreateAsync();
        try
        {
            var etcd = await EtcdWitness.StartAsync(f.Lab);
            // No trigger named: with a witness it is automatic.
            await f.ApplyAndProtectAsync(f.FailoverYaml().Replace("  trigger: automatic\n", "", StringComparison.Ordinal) + etcd.Yaml);
            await FailoverProbe.WaitEventAsync(f.Source, FailoverLab.Job, EventCode.WitnessAcquired, Long);
            return (f, etcd);
        }
        catch
        {
            await f.DisposeAsync();
            throw;
        }
    }

    /// <summary>(a) The target loses the source but both still reach etcd: the source keeps renewing, so no take-over.</summary>
    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents | LabNeeds.Etcd)]
    public async Task Witness_TargetCutFromSourceOnly_NoFailover()
    {
        var (f, etcd) = await StartAsync();
        await using var _ = f;
        await using var watch = f.Lab.WatchAddress(f.Vip);

        // Routes, not the bridge: source and target no longer reach each other, both still reach etcd and the client.
        await f.Lab.ExecOkAsync(f.Lab.Target, ["ip", "route", "add", "blackhole", $"{f.Lab.Source.Address}/32"]);
        await f.Lab.ExecOkAsync(f.Lab.Target, ["ip", "route", "add", "blackhole", $"{f.Vip}/32"]);
        await f.Lab.ExecOkAsync(f.Lab.Source, ["ip", "route", "add", "blackhole", $"{f.Lab.Target.Address}/32"]);

        var refused = await FailoverProbe.WaitEventAsync(f.Target, FailoverLab.Job, EventCode.WitnessRefusedTakeover, Long);
        Assert.Contains("held by the source", refused.Message, StringComparison.Ordinal);
        // Three more leases' time: the source renews throughout, the target keeps asking and keeps being refused.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(9);
        await Wait.UntilAsync(() => Task.FromResult(DateTime.UtcNow > until), TimeSpan.FromSeconds(20), "three leases to pass");
        await watch.StopAsync();

        var status = await FailoverProbe.StatusAsync(f.Target, FailoverLab.Job);
        Assert.Equal("suspect", status.State);
        Assert.All(watch.Changes, c => Assert.Equal(["src"], c.Holders));
        var sourceEvents = await FailoverProbe.EventsAsync(f.Source, FailoverLab.Job);
        Assert.DoesNotContain(sourceEvents, e => e.Code is EventCode.WitnessFenced or EventCode.WitnessFenceFailed);
        output.WriteLine($"{watch.Samples} samples; target: {status.Json["failover"]?["witness"] ?? status.Json}");
        GC.KeepAlive(etcd);
    }

    /// <summary>(b) The source is cut from everything: it drops its address before its lease can expire, then the target takes over.</summary>
    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents | LabNeeds.Etcd)]
    public async Task Witness_SourceCutFromEverything_FencesBeforeTargetTakesOver()
    {
        var (f, _) = await StartAsync();
        await using var __ = f;
        await using var watch = f.Lab.WatchAddress(f.Vip);
        var cutAt = DateTimeOffset.UtcNow;
        await f.Lab.CutLinkAsync(f.Lab.Source);

        await FailoverProbe.WaitStateAsync(f.Target, FailoverLab.Job, "failed-over", Long);
        await watch.StopAsync();

        // Never on two hosts, the cut one included: the source let the address go before the target took it.
        watch.EnsureNeverHeldByBoth();
        Assert.Equal(["src"], watch.Changes[0].Holders);
        Assert.Contains("tgt", watch.Changes[^1].Holders);
        Assert.Contains(watch.Changes, c => c.Holders.Count == 0);
        Assert.Equal(SmbContent(), await SmbClient.ReadFileAsync(f.Lab.Client, f.Unc, FailoverLab.FileName));

        var source = await FailoverProbe.EventsAsync(f.Source, FailoverLab.Job);
        var target = await FailoverProbe.EventsAsync(f.Target, FailoverLab.Job);
        foreach (var e in source.Concat(target).OrderBy(e => e.Time))
            output.WriteLine(e.ToString());
        var fenced = FailoverProbe.One(source, EventCode.WitnessFenced, "the witness lease could not be renewed");
        var taken = FailoverProbe.One(target, EventCode.WitnessTaken);
        Assert.True(fenced.Time < taken.Time, $"fenced at {fenced.Time:O}, key taken at {taken.Time:O}");
        output.WriteLine($"cut -> fenced {(fenced.Time - cutAt).TotalMilliseconds:0} ms; cut -> key taken {(taken.Time - cutAt).TotalMilliseconds:0} ms");
    }

    /// <summary>(c) etcd is down, then the source goes: no automatic take-over, and both sides say why.</summary>
    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents | LabNeeds.Etcd)]
    public async Task Witness_EtcdDown_NoAutomaticFailover_ClearEvents()
    {
        var (f, etcd) = await StartAsync();
        await using var _ = f;
        await using var watch = f.Lab.WatchAddress(f.Vip);
        await etcd.Process.StopAsync();
        await f.Lab.CutLinkAsync(f.Lab.Source);

        var unreachable = await FailoverProbe.WaitEventAsync(f.Target, FailoverLab.Job, EventCode.WitnessUnreachable, Long, "no automatic take-over");
        output.WriteLine(unreachable.ToString());
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(6);
        await Wait.UntilAsync(() => Task.FromResult(DateTime.UtcNow > until), TimeSpan.FromSeconds(20), "two leases to pass");
        await watch.StopAsync();

        Assert.Equal("suspect", (await FailoverProbe.StatusAsync(f.Target, FailoverLab.Job)).State);
        Assert.DoesNotContain(watch.Changes, c => c.Holders.Contains("tgt"));
        // The source, cut from etcd too, gave its address up when it could no longer renew.
        Assert.Empty(f.Holders(f.Vip));
        var source = await FailoverProbe.EventsAsync(f.Source, FailoverLab.Job);
        FailoverProbe.Any(source, EventCode.WitnessRenewFailed);
        FailoverProbe.Any(source, EventCode.WitnessFenced);
    }

    private static byte[] SmbContent() => FailoverLab.Content;
}
