using Understudy.Agent.Events;
using Understudy.Testing.Lab;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.LabTests.Failover;

/// <summary>
/// §7 (f) and §3 "server name": mode replace gives up the target's own address and name (Samba's netbios name
/// and the host name become the source's); mode add keeps them and answers to the source's name as an alias.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class ModeTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents)]
    public async Task ModeReplace_GivesUpTheTargetsOwnAddressAndName()
    {
        var machine = Environment.MachineName;
        await using var f = await FailAsync("replace");
        Assert.Empty(f.Holders(f.Lab.Target.Address));
        Assert.Equal(1, await f.CountOnTargetAsync(f.Vip));
        Assert.Equal(FailoverLab.Content, await SmbClient.ReadFileAsync(f.Lab.Client, f.Unc, FailoverLab.FileName));
        Assert.False(await f.Lab.PingAsync(f.Lab.Client, f.Lab.Target.Address), "the target still answers at its own address");

        Assert.Equal("LABSOURCE", await f.NetbiosNameAsync());
        Assert.Equal("LABSOURCE", await SmbClient.ServerNameAsync(f.Lab.Client, f.Vip));
        Assert.Contains("netbios name = LABSOURCE", await File.ReadAllTextAsync(Path.Combine(f.SambaIncludeDir, "name.conf")), StringComparison.Ordinal);
        Assert.DoesNotContain("LABSOURCE", await File.ReadAllTextAsync(Path.Combine(f.SambaIncludeDir, "global.conf")), StringComparison.Ordinal);
        Assert.Equal("LABSOURCE", await f.Lab.Target.HostnameNowAsync());
        Assert.Equal(f.Lab.Source.Hostname, await f.Lab.Source.HostnameNowAsync());
        Assert.Equal(machine, Environment.MachineName); // the lab host was renamed, not the machine

        var events = await FailoverProbe.EventsAsync(f.Target, FailoverLab.Job);
        foreach (var e in events)
            output.WriteLine(e.ToString());
        FailoverProbe.One(events, EventCode.OwnAddressesReleased, $"{f.Lab.Target.Address}/24 on eth0");
        FailoverProbe.One(events, EventCode.ServerNameSet, "LABSOURCE (netbios name)");
        FailoverProbe.One(events, EventCode.HostnameSet, $"LABSOURCE (was {f.Lab.Target.Hostname})");
    }

    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents)]
    public async Task ModeAdd_KeepsTheTargetsOwnAddressAndName_AnswersToTheSourcesAsAnAlias()
    {
        await using var f = await FailAsync("add");
        Assert.Equal(["tgt"], f.Holders(f.Lab.Target.Address));
        Assert.Equal(1, await f.CountOnTargetAsync(f.Vip));
        Assert.Equal(FailoverLab.Content, await SmbClient.ReadFileAsync(f.Lab.Client, f.Unc, FailoverLab.FileName));
        Assert.True(await f.Lab.PingAsync(f.Lab.Client, f.Lab.Target.Address), "the target no longer answers at its own address");

        Assert.Equal(f.TargetSmbd.NetbiosName, await f.NetbiosNameAsync());
        Assert.Equal(f.TargetSmbd.NetbiosName, await SmbClient.ServerNameAsync(f.Lab.Client, f.Vip));
        Assert.Equal("LABSOURCE", await f.SambaParameterAsync("netbios aliases"));
        Assert.DoesNotContain("netbios name", await File.ReadAllTextAsync(Path.Combine(f.SambaIncludeDir, "name.conf")), StringComparison.Ordinal);
        Assert.Equal(f.Lab.Target.Hostname, await f.Lab.Target.HostnameNowAsync());

        var events = await FailoverProbe.EventsAsync(f.Target, FailoverLab.Job);
        // No step gives up the target's own addresses or sets the host name in mode add.
        Assert.DoesNotContain(events, e => e.Is(EventCode.OwnAddressesReleased) || e.Is(EventCode.StepStarted, "own addresses"));
        FailoverProbe.One(events, EventCode.ServerNameSet, "LABSOURCE (netbios aliases)");
        Assert.DoesNotContain(events, e => e.Code is EventCode.HostnameSet or EventCode.HostnameSkipped || e.Is(EventCode.StepStarted, "host name"));
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
