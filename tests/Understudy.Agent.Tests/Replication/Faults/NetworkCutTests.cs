using Understudy.Agent.Events;
using Understudy.Agent.Tests.Replication.Faults.Support;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.Agent.Tests.Replication.Faults;

[Collection(nameof(ReplicationFaultsCollection))]
public sealed class NetworkCutTests(ITestOutputHelper output)
{
    [Fact]
    public async Task NetworkCut_WhileChurning_ReportsDisconnectedRetrying_ThenConvergesAfterRestore()
    {
        await using var rig = await ReplicationRig.StartAsync(output, viaProxy: true);
        var proxy = rig.Proxy!;
        var churn = rig.NewChurn(seed: 3002);
        churn.Run(100);
        await rig.ApplyJobAsync();
        await rig.WaitMirroredAsync();
        await churn.RunAsync(50);
        await rig.WaitForStatusAsync(s => ReplicationRig.State(s) == "replicating" || ReplicationRig.State(s) == "in-sync", TimeSpan.FromSeconds(30), "replication running");
        long beforeCut = await rig.LastEventIdAsync();
        long acceptedBeforeCut = proxy.Accepted;

        proxy.Cut();
        await churn.RunAsync(100);
        // The next change the source tries to ship (or its heartbeat) finds the link gone.
        var down = await rig.WaitForStatusAsync(s => ReplicationRig.State(s) == "disconnected", TimeSpan.FromSeconds(30), "state disconnected after the cut");
        Assert.Contains("retrying", down["reason"]?.ToString() ?? "", StringComparison.OrdinalIgnoreCase);
        var lost = await rig.WaitForEventAsync(TimeSpan.FromSeconds(10), "the link loss", beforeCut, EventCode.LinkLost);
        // Changes made while the link is down must queue up, not be dropped.
        await churn.RunAsync(100);

        proxy.Restore();
        await rig.AssertConvergedAsync();
        Assert.True(proxy.Accepted > acceptedBeforeCut, "the source never reconnected through the proxy");
        await rig.WaitForEventAsync(TimeSpan.FromSeconds(10), "the link's return", ReplicationRig.Id(lost), EventCode.LinkRestored);
        await rig.AssertNoErrorEventsAsync();
    }
}
