using Understudy.Agent.Events;
using Understudy.Testing.Lab;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.LabTests.Failover;

/// <summary>
/// Service probes against the real services (issue "Operate unattended", service probes): the target watches the
/// source host (tcp, weight 1), its Samba share with a canary file (smb, weight 2) and its NFS server (nfs, weight 1),
/// under policy weight with threshold 2. The host still answering does not keep the source "alive" when the service
/// the clients use is dead.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class ServiceProbeLabTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(40);

    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Ganesha | LabNeeds.Agents)]
    public async Task PolicyWeight_NfsLostAlone_DoesNotFailOver_TheShareLostWhileTheHostAnswers_FailsOver()
    {
        await using var f = await FailoverLab.CreateAsync(new FailoverLabOptions { Nfs = true });
        var source = f.Lab.Source.Address;
        await f.ApplyAndProtectAsync(f.FailoverYaml(policy: "weight", threshold: 2, interval: "1s", timeout: "1s", identity: false, watch:
        [
            $"{{ address: {source}, method: tcp }}",
            $"{{ address: {source}, method: smb, share: {FailoverLab.Share}, file: {FailoverLab.FileName}, weight: 2 }}",
            $"{{ address: {source}, method: nfs }}",
        ]));

        // NFS stops: weight 1 of 2 lost. Three more probes after the loss give a wrong decision time to show.
        await f.SourceGanesha!.DisposeAsync();
        var s = await FailoverProbe.WaitAsync(f.Target, FailoverLab.Job, s => s.Probe("(nfs").MissesOf() >= 6, "the NFS probe to stay lost for 6 probes", Deadline);
        Assert.Equal("suspect", s.State);
        Assert.Equal("up", s.Probe("(smb share").StateOf());
        Assert.Equal("up", s.Probe("(tcp").StateOf());

        // smbd stops, the host still answers on the agent's port: weight 3, the source is gone for its clients.
        await f.SourceSmbd.StopAsync();
        s = await FailoverProbe.WaitStateAsync(f.Target, FailoverLab.Job, "failed-over", Deadline);
        Assert.Equal("up", s.Probe("(tcp").StateOf());
        var events = await FailoverProbe.EventsAsync(f.Target, FailoverLab.Job);
        foreach (var e in events)
            output.WriteLine(e.ToString());
        FailoverProbe.Missed(events, $"{source} (smb share {FailoverLab.Share}/{FailoverLab.FileName})", 3);
        FailoverProbe.One(events, EventCode.FailoverTriggered, "2 of 3 watched addresses lost, weight 3 of threshold 2 (3 consecutive misses; policy weight)");
    }
}
