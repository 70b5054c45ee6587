using System.Text;
using Understudy.Testing.Lab;
using Xunit;

namespace Understudy.LabTests.Smoke;

[Collection(LabCollection.Name)]
public sealed class LabReplicationTests
{
    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents)]
    public async Task Job_BetweenLabAgents_Mirrors_AndTheClientReadsTheFileFromBothShares()
    {
        await using var lab = await Lab.CreateAsync();
        var sourceData = lab.Source.Sub("data");
        var replica = lab.Target.Sub("replica");
        Directory.CreateDirectory(sourceData);
        Directory.CreateDirectory(Path.Combine(sourceData, "docs"));
        var content = Encoding.UTF8.GetBytes("quarterly figures, line one\n");
        await File.WriteAllBytesAsync(Path.Combine(sourceData, "docs", "report.txt"), content);

        await Smbd.StartAsync(lab.Source, [new SmbShare("data", sourceData)]);
        var (source, target) = await LabAgent.StartPairAsync(lab);
        await source.ApplyJobAsync(LabAgent.JobYaml("lab1", sourceData, target, replica));
        await source.WaitMirroredAsync("lab1");

        Assert.Equal(content, await SmbClient.ReadFileAsync(lab.Client, SmbClient.Unc(lab.Source.Address, "data"), "docs/report.txt"));

        // The target's own smbd, sharing the replica under the same share name.
        await Smbd.StartAsync(lab.Target, [new SmbShare("data", replica)]);
        Assert.Equal(content, await SmbClient.ReadFileAsync(lab.Client, SmbClient.Unc(lab.Target.Address, "data"), "docs/report.txt"));
    }

    [LabFact(Needs = LabNeeds.Samba)]
    public async Task Smbd_ClientWrites_AndAShareAddedByIncludeAndReloadAppears()
    {
        await using var lab = await Lab.CreateAsync();
        var home = lab.Target.Sub("home");
        var extra = lab.Target.Sub("extra");
        Directory.CreateDirectory(home);
        Directory.CreateDirectory(extra);
        await File.WriteAllTextAsync(Path.Combine(extra, "x.txt"), "extra");
        var smbd = await Smbd.StartAsync(lab.Target, [new SmbShare("home", home)]);

        await SmbClient.WriteFileAsync(lab.Client, SmbClient.Unc(lab.Target.Address, "home"), "new.txt", "written"u8.ToArray());
        Assert.Equal("written", await File.ReadAllTextAsync(Path.Combine(home, "new.txt")));

        var unc = SmbClient.Unc(lab.Target.Address, "extra");
        Assert.False((await SmbClient.TryReadFileAsync(lab.Client, unc, "x.txt", TimeSpan.FromSeconds(10))).Ok);
        await smbd.SetIncludedSharesAsync([new SmbShare("extra", extra)]);
        Assert.Equal("extra"u8.ToArray(), await SmbClient.ReadFileAsync(lab.Client, unc, "x.txt"));
    }

    [LabFact(Needs = LabNeeds.Ganesha)]
    public async Task Ganesha_ServesAnExport_ThatTheClientReadsWithLibnfs()
    {
        await using var lab = await Lab.CreateAsync();
        var export = lab.Target.Sub("export");
        Directory.CreateDirectory(export);
        await File.WriteAllTextAsync(Path.Combine(export, "hello.txt"), "over nfs\n");
        await Ganesha.StartAsync(lab.Target, [new NfsExport(export, "/data")]);

        Assert.Equal("over nfs\n", Encoding.UTF8.GetString(await NfsClient.CatAsync(lab.Client, lab.Target.Address, "/data/hello.txt")));
        Assert.Contains("hello.txt", await NfsClient.ListAsync(lab.Client, lab.Target.Address, "/data"), StringComparison.Ordinal);
    }
}
