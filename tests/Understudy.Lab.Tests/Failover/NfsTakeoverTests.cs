using Understudy.Agent.Events;
using Understudy.Testing.Lab;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.LabTests.Failover;

/// <summary>
/// Issue 4 §3, NFS: the source serves its data over NFS-Ganesha at the service address; the job's
/// fail-over identity lists that export; the source's link is cut; the client reads the same file,
/// at the same address and the same (pseudo) path, now from the target's Ganesha serving the replica.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class NfsTakeoverTests(ITestOutputHelper output)
{
    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Ganesha | LabNeeds.Agents)]
    public async Task NfsExport_SourceLinkCut_ClientReadsTheReplicaAtTheSameAddressAndPath()
    {
        await using var f = await FailoverLab.CreateAsync(new FailoverLabOptions { Nfs = true });
        var file = $"{f.SourceData}/{FailoverLab.FileName}";
        Assert.Equal(FailoverLab.Content, await NfsClient.CatAsync(f.Lab.Client, f.Vip, file));

        await f.ApplyAndProtectAsync(f.FailoverYaml(nfs: true));
        await f.Lab.CutLinkAsync(f.Lab.Source);
        await FailoverProbe.WaitStateAsync(f.Target, FailoverLab.Job, "failed-over", TimeSpan.FromSeconds(30));

        // Ganesha re-read its exports on SIGHUP: the replica, under the source's path as its pseudo path.
        var exports = await File.ReadAllTextAsync(Path.Combine(f.NfsIncludeDir, "exports.conf"));
        Assert.Contains($"Path = \"{f.Replica}\";", exports, StringComparison.Ordinal);
        Assert.Contains($"Pseudo = \"{f.SourceData}\";", exports, StringComparison.Ordinal);
        Assert.Contains($"%include \"{Path.Combine(f.NfsIncludeDir, "exports.conf")}\"", await File.ReadAllTextAsync(f.TargetGanesha!.ConfigPath), StringComparison.Ordinal);

        // The source's link is cut, so whatever answers at the service address now is the target.
        Assert.Equal(["tgt"], f.Holders(f.Vip).Where(h => h != "src"));
        Assert.Equal(FailoverLab.Content, await NfsClient.PollCatAsync(f.Lab.Client, f.Vip, file, TimeSpan.FromSeconds(30)));
        Assert.Contains("report.txt", await NfsClient.ListAsync(f.Lab.Client, f.Vip, $"{f.SourceData}/docs"), StringComparison.Ordinal);

        var events = await FailoverProbe.EventsAsync(f.Target, FailoverLab.Job);
        foreach (var e in events)
            output.WriteLine(e.ToString());
        FailoverProbe.One(events, EventCode.NfsExported, $"{f.SourceData} → {f.Replica}");
        Assert.DoesNotContain(events, e => e.Is(EventCode.GaneshaNotRunning));
    }
}
