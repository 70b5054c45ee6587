using System.Text.Json.Nodes;
using Understudy.Testing;
using Understudy.Testing.Lab;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.LabTests.Failover;

/// <summary>
/// Issue 20, item 4: the identity is kept true after a fail-over. A target restarted while failed over takes the
/// identity again before it says failed-over; the identity it holds is watched and repaired; a returning source whose
/// OS brings the service address up stands down before anything else, and only when its job was failed over.
/// Events are matched by code (docs/events.md).
/// </summary>
[Collection(LabCollection.Name)]
public sealed class IdentityKeptTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(40);

    private const int AgentStarted = 100;
    private const int IdentityReasserting = 740;
    private const int IdentityReasserted = 741;
    private const int IdentityDrifted = 743;
    private const int IdentityRepaired = 744;
    private const int SourceDemoted = 750;
    private const int SourceFenced = 830;
    private const int SourceFenceConfirmed = 832;

    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents)]
    public async Task TargetRestartedWhileFailedOver_ReassertsAddressAndShare_BeforeReportingFailedOver()
    {
        await using var f = await FailoverLab.CreateAsync();
        await f.ApplyAndProtectAsync(f.FailoverYaml());
        await f.Lab.CutLinkAsync(f.Lab.Source);
        await FailoverProbe.WaitStateAsync(f.Target, FailoverLab.Job, "failed-over", Deadline);

        // The target host reboots: the agent dies, the address added by `ip addr add` is gone, and this host's Samba
        // configuration comes back without Understudy's shares (say, /etc from an image).
        f.Target.Kill();
        await f.Lab.RemoveAddressAsync(f.Lab.Target, f.Vip);
        await File.WriteAllTextAsync(Path.Combine(f.SambaIncludeDir, "shares.conf"), "");
        await f.TargetSmbd.ReloadAsync();
        Assert.Equal(0, await f.CountOnTargetAsync(f.Vip));

        await f.Target.StartAsync();
        // Every status that says failed-over comes after the address is back.
        await FailoverProbe.WaitAsync(f.Target, FailoverLab.Job, s => s.State == "failed-over", "failed-over after the restart", Deadline);
        Assert.Equal(1, await f.CountOnTargetAsync(f.Vip));
        Assert.Equal(FailoverLab.Content, await SmbClient.ReadFileAsync(f.Lab.Client, f.Unc, FailoverLab.FileName));

        var events = await CodedEventsAsync(f.Target, FailoverLab.Job);
        foreach (var e in events)
            output.WriteLine(e.ToString());
        var reasserting = events.Single(e => e.Code == IdentityReasserting);
        var reasserted = events.Single(e => e.Code == IdentityReasserted);
        Assert.True(reasserting.Id < reasserted.Id);
    }

    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents)]
    public async Task HeldIdentityDrifts_AddressDeletedAndShareDropped_TargetRepairsBothWithEvents()
    {
        await using var f = await FailoverLab.CreateAsync();
        await f.ApplyAndProtectAsync(f.FailoverYaml());
        await f.Lab.CutLinkAsync(f.Lab.Source);
        await FailoverProbe.WaitStateAsync(f.Target, FailoverLab.Job, "failed-over", Deadline);

        // A network manager rewrites the interface: the service address goes.
        await f.Lab.RemoveAddressAsync(f.Lab.Target, f.Vip);
        await Wait.UntilAsync(async () => (await CodedEventsAsync(f.Target, FailoverLab.Job)).Any(e => e.Code == IdentityRepaired), Deadline,
            "the target to repair its address");
        await Wait.UntilAsync(async () => await f.CountOnTargetAsync(f.Vip) == 1, Deadline, "the address back on the target");
        Assert.Equal(FailoverLab.Content, await SmbClient.ReadFileAsync(f.Lab.Client, f.Unc, FailoverLab.FileName));

        // Configuration management rewrites Understudy's share include: the share goes.
        await File.WriteAllTextAsync(Path.Combine(f.SambaIncludeDir, "shares.conf"), "");
        await f.TargetSmbd.ReloadAsync();
        await Wait.UntilAsync(async () => (await CodedEventsAsync(f.Target, FailoverLab.Job)).Count(e => e.Code == IdentityRepaired) >= 2, Deadline,
            "the target to repair its share");
        Assert.Equal(FailoverLab.Content, await SmbClient.ReadFileAsync(f.Lab.Client, f.Unc, FailoverLab.FileName));
        Assert.Equal("failed-over", (await FailoverProbe.StatusAsync(f.Target, FailoverLab.Job)).State);

        var events = await CodedEventsAsync(f.Target, FailoverLab.Job);
        foreach (var e in events)
            output.WriteLine(e.ToString());
        var drifted = events.Where(e => e.Code == IdentityDrifted).ToList();
        Assert.Equal(2, drifted.Count);
        Assert.Contains(f.Vip.ToString(), drifted[0].Message, StringComparison.Ordinal);
        Assert.Contains(FailoverLab.Share, drifted[1].Message, StringComparison.Ordinal);
    }

    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents)]
    public async Task ReturningSource_WithStaticServiceAddress_DemotesItselfBeforeAnythingElse()
    {
        await using var f = await FailoverLab.CreateAsync(new FailoverLabOptions { SourceSamba = true });
        await f.ApplyAndProtectAsync(f.FailoverYaml());
        await f.Lab.CutLinkAsync(f.Lab.Source);
        await FailoverProbe.WaitStateAsync(f.Target, FailoverLab.Job, "failed-over", Deadline);

        // The source host died before it heard of the fail-over, and comes back as its OS configures it: the service
        // address on eth0 and the share in smb.conf. Away longer than the target needs to take over, it fences itself
        // at start (ReturningSourceFenceTests); the target then confirms the fail-over.
        f.Source.Kill();
        await f.Lab.RestoreLinkAsync(f.Lab.Source);
        Assert.Equal(["src", "tgt"], f.Holders(f.Vip));
        await f.Source.StartAsync();
        await Wait.UntilAsync(() => f.Holders(f.Vip).SequenceEqual(["tgt"]), Deadline, "the source to remove the service address");
        var first = await WaitCodeAsync(f.Source, FailoverLab.Job, SourceFenced, 1);
        await WaitCodeAsync(f.Source, FailoverLab.Job, SourceFenceConfirmed, 1);
        Assert.Contains(f.Vip.ToString(), first.Message, StringComparison.Ordinal);
        // The share the source's own smbd defines is off too: clients reach the job's data only at the target.
        var atSource = await SmbClient.TryReadFileAsync(f.Lab.Client, SmbClient.Unc(f.Lab.Source.Address, FailoverLab.Share), FailoverLab.FileName, TimeSpan.FromSeconds(5));
        Assert.False(atSource.Ok, "the source still serves the share");

        // It reboots again, knowing now: the OS brings the address up, and the agent takes it down before it even
        // answers its API (StartAsync returns once the API answers).
        await f.Source.StopAsync();
        await f.Lab.AddAddressAsync(f.Lab.Source, f.Vip);
        await f.Source.StartAsync();
        Assert.Equal(["tgt"], f.Holders(f.Vip));
        var all = await CodedEventsAsync(f.Source, null);
        foreach (var e in all)
            output.WriteLine("source: " + e);
        var second = all.Last(e => e.Code == SourceDemoted);
        var started = all.Last(e => e.Code == AgentStarted);
        Assert.True(second.Id < started.Id, "the source demoted itself after it started");

        Assert.Equal("failed-over", (await FailoverProbe.StatusAsync(f.Target, FailoverLab.Job)).State);
        Assert.Equal(1, await f.CountOnTargetAsync(f.Vip));
        Assert.Equal(FailoverLab.Content, await SmbClient.ReadFileAsync(f.Lab.Client, f.Unc, FailoverLab.FileName));
    }

    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents)]
    public async Task SourceRestartedWhileProtecting_KeepsItsServiceAddressAndShare()
    {
        await using var f = await FailoverLab.CreateAsync(new FailoverLabOptions { SourceSamba = true });
        // 10 s × 3 misses: the restart is well within the 20 s the target needs at the least to take over, so the source
        // does not fence itself at start (a restart longer than that would: ReturningSourceFenceTests).
        await f.ApplyAndProtectAsync(f.FailoverYaml(interval: "10s"));

        // Not failed over: a restarted source is entitled to everything it serves.
        await f.Source.StopAsync();
        await f.Source.StartAsync();
        await Wait.UntilAsync(async () => (await f.Source.StatusAsync(FailoverLab.Job))["state"]?.GetValue<string>() == "replicating", Deadline,
            "the source to replicate again");
        // A few passes of every loop that could stand the source down (the lab polls every 500 ms).
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        await Wait.UntilAsync(() => Task.FromResult(DateTime.UtcNow > until), TimeSpan.FromSeconds(10), "three seconds to pass");

        Assert.Equal(["src"], f.Holders(f.Vip));
        Assert.Equal(FailoverLab.Content, await SmbClient.ReadFileAsync(f.Lab.Client, f.Unc, FailoverLab.FileName));
        Assert.DoesNotContain(await CodedEventsAsync(f.Source, FailoverLab.Job), e => e.Code == SourceDemoted);
        Assert.Equal("protecting", (await FailoverProbe.StatusAsync(f.Target, FailoverLab.Job)).State);
    }

    private sealed record CodedEvent(long Id, int? Code, string Severity, string Message)
    {
        public override string ToString() => $"#{Id} {Code} {Severity,-7} {Message}";
    }

    /// <summary>The agent's events (of one job, or all with null) with their codes.</summary>
    private static async Task<IReadOnlyList<CodedEvent>> CodedEventsAsync(LabAgent agent, string? job)
    {
        var r = await agent.CliOkAsync(job is null ? ["events", "--json", "--limit", "5000"] : ["events", "--job", job, "--json", "--limit", "5000"]);
        return [.. r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(line =>
        {
            var e = JsonNode.Parse(line)!;
            return new CodedEvent(e["id"]!.GetValue<long>(), e["code"]?.GetValue<int?>(), e["severity"]!.GetValue<string>(), e["message"]!.GetValue<string>());
        }).OrderBy(e => e.Id)];
    }

    private static async Task<CodedEvent> WaitCodeAsync(LabAgent agent, string job, int code, int count)
    {
        IReadOnlyList<CodedEvent> events = [];
        await Wait.UntilAsync(async () => (events = await CodedEventsAsync(agent, job)).Count(e => e.Code == code) >= count, Deadline,
            $"{count} event(s) {code} on {agent.Name}");
        return events.Where(e => e.Code == code).ElementAt(count - 1);
    }
}
