using Understudy.Agent.Events;
using Understudy.Agent.Tests.Replication.Faults.Support;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.Agent.Tests.Replication.Faults;

[Collection(nameof(ReplicationFaultsCollection))]
public sealed class ChurnTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Churn_DuringMirrorAndAfter_ConvergesAndVerifiesClean()
    {
        await using var rig = await ReplicationRig.StartAsync(output);
        var churn = rig.NewChurn(seed: 3001);
        churn.Run(150);
        await rig.ApplyJobAsync();

        // Churn for as long as the first mirror runs, so changes land in every phase of it (plan, send, finish).
        using (var mirrored = new CancellationTokenSource())
        {
            var during = churn.RunUntilCancelledAsync(mirrored.Token);
            try
            {
                await rig.WaitMirroredAsync();
            }
            finally
            {
                await mirrored.CancelAsync();
                output.WriteLine($"{await during} operations while the mirror ran");
            }
        }

        await churn.RunAsync(250);
        await rig.AssertConvergedAsync();

        foreach (var op in Enum.GetValues<ChurnOp>().Where(o => o != ChurnOp.Chown || churn.CanChown))
            Assert.True(churn.Counts.GetValueOrDefault(op) > 0, $"the churn never did {op}: {churn.LogTail()}");
        await rig.WaitForEventAsync(TimeSpan.FromSeconds(5), "the mirror's completion", 0, EventCode.MirrorCompleted);
        await rig.AssertNoErrorEventsAsync();
    }
}
