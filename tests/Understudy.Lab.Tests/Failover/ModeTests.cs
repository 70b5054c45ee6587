using Understudy.LabTests.Harness;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.LabTests.Failover;

/// <summary>§7 (f): mode replace gives up the target's own address; mode add keeps it beside the source's.</summary>
[Collection(LabCollection.Name)]
public sealed class ModeTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents)]
    public async Task ModeReplace_GivesUpTheTargetsOwnAddress()
    {
        await using var f = await FailAsync("replace");
        Assert.Empty(f.Holders(f.Lab.Target.Address));
        Assert.Equal(1, await f.CountOnTargetAsync(f.Vip));
        Assert.Equal(FailoverLab.Content, await SmbClient.ReadFileAsync(f.Lab.Client, f.Unc, FailoverLab.FileName));
        Assert.False(await f.Lab.PingAsync(f.Lab.Client, f.Lab.Target.Address), "the target still answers at its own address");
        var events = await FailoverProbe.EventsAsync(f.Target, FailoverLab.Job);
        foreach (var e in events)
            output.WriteLine(e.ToString());
        FailoverProbe.One(events, $"gave up the target's own addresses: {f.Lab.Target.Address}/24 on eth0");
    }

    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents)]
    public async Task ModeAdd_KeepsTheTargetsOwnAddress()
    {
        await using var f = await FailAsync("add");
        Assert.Equal(["tgt"], f.Holders(f.Lab.Target.Address));
        Assert.Equal(1, await f.CountOnTargetAsync(f.Vip));
        Assert.Equal(FailoverLab.Content, await SmbClient.ReadFileAsync(f.Lab.Client, f.Unc, FailoverLab.FileName));
        Assert.True(await f.Lab.PingAsync(f.Lab.Client, f.Lab.Target.Address), "the target no longer answers at its own address");
        var events = await FailoverProbe.EventsAsync(f.Target, FailoverLab.Job);
        Assert.DoesNotContain(events, e => e.Message.Contains("own addresses", StringComparison.Ordinal));
    }

    private static async Task<FailoverLab> FailAsync(string mode)
    {
        var f = await FailoverLab.CreateAsync();
        try
        {
            await f.ApplyAndProtectAsync(f.FailoverYaml(mode: mode));
            await f.Lab.CutLinkAsync(f.Lab.Source);
            await FailoverProbe.WaitStateAsync(f.Target, FailoverLab.Job, "failed-over", Deadline);
            return f;
        }
        catch
        {
            await f.DisposeAsync();
            throw;
        }
    }
}
