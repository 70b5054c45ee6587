using Understudy.Agent.Events;
using Understudy.Testing.Lab;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.LabTests.Failover;

/// <summary>
/// An abort late in the take-over undoes what was already taken: the source still holds the
/// service address (its link is up), so duplicate address detection refuses it after the name
/// and the share were put on the target; both are taken back off.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class AbortUndoTests(ITestOutputHelper output)
{
    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents)]
    public async Task AddressStillAnswering_DuplicateDetectionAborts_AndUndoesNameAndShare()
    {
        await using var f = await FailoverLab.CreateAsync();
        await f.ApplyAndProtectAsync(f.FailoverYaml(trigger: "manual"));

        var run = await f.Target.CliAsync(["failover", FailoverLab.Job]);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("still answers on the network", run.Stderr, StringComparison.Ordinal);

        Assert.Equal(["src"], f.Holders(f.Vip));
        Assert.Equal(0, await f.CountOnTargetAsync(f.Vip));
        Assert.DoesNotContain("[data]", await File.ReadAllTextAsync(Path.Combine(f.SambaIncludeDir, "shares.conf")), StringComparison.Ordinal);
        Assert.DoesNotContain("LABSOURCE", await File.ReadAllTextAsync(Path.Combine(f.SambaIncludeDir, "global.conf")), StringComparison.Ordinal);
        // The target's smbd was told to drop the share again: the client cannot reach it at the target's own address.
        Assert.False((await SmbClient.TryReadFileAsync(f.Lab.Client, SmbClient.Unc(f.Lab.Target.Address, FailoverLab.Share), FailoverLab.FileName, TimeSpan.FromSeconds(5))).Ok);
        Assert.Equal(FailoverLab.Content, await SmbClient.ReadFileAsync(f.Lab.Client, f.Unc, FailoverLab.FileName));

        var events = await FailoverProbe.EventsAsync(f.Target, FailoverLab.Job);
        foreach (var e in events)
            output.WriteLine(e.ToString());
        FailoverProbe.One(events, EventCode.StepAborted, $"'address {f.Vip}/24 on eth0': refused to add {f.Vip}/24");
        FailoverProbe.One(events, EventCode.StepUndone, "'shares data'");
        FailoverProbe.One(events, EventCode.StepUndone, "'server name LABSOURCE'");
        FailoverProbe.One(events, EventCode.FailoverAborted);
        await FailoverProbe.WaitAsync(f.Target, FailoverLab.Job, s => s.IsProtectingAndUp, "protecting again after the abort", TimeSpan.FromSeconds(20));
    }
}
