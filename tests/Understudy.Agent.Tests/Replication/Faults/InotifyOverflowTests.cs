using System.Globalization;
using Understudy.Agent.Events;
using Understudy.Agent.Tests.Replication.Faults.Support;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.Agent.Tests.Replication.Faults;

[Collection(nameof(ReplicationFaultsCollection))]
public sealed class InotifyOverflowTests(ITestOutputHelper output)
{
    /// <summary>
    /// The agent runs as root, where it would choose fanotify; these knobs make its capture use inotify and
    /// shrink the agent's event queue to a few slots (fs.inotify.max_queued_events is global and read at
    /// inotify_init, so lowering it would disturb every other process on the machine). A burst of changes then
    /// overflows the queue, which must become an overflow event and a difference mirror, and still converge.
    /// </summary>
    internal static readonly Dictionary<string, string> CaptureKnobs = new()
    {
        ["UNDERSTUDY_CAPTURE"] = "inotify",
        ["UNDERSTUDY_CAPTURE_QUEUE"] = "4",
    };

    [Fact]
    public async Task InotifyOverflow_TinyQueue_RecordsOverflowAndDifferenceMirror_ThenConverges()
    {
        await using var rig = await ReplicationRig.StartAsync(output, sourceEnvironment: CaptureKnobs);
        var churn = rig.NewChurn(seed: 3003);
        churn.Run(80);
        await rig.ApplyJobAsync();
        await rig.WaitMirroredAsync();
        var status = await rig.WaitForStatusAsync(s => s["replication"]?["captureMethod"] is not null, TimeSpan.FromSeconds(15), "a capture method in the status");
        Assert.True((string?)status["replication"]!["captureMethod"] == "inotify",
            $"the source agent captures with {status["replication"]!["captureMethod"]}, not inotify: it must honour UNDERSTUDY_CAPTURE=inotify (and UNDERSTUDY_CAPTURE_QUEUE) from its environment");
        long before = await rig.LastEventIdAsync();

        // Bursts of creations, far more than the queue holds, until the agent reports the overflow.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        int burst = 0;
        while (!(await rig.EventsAsync()).Any(e => ReplicationRig.Id(e) > before && e.Code() == EventCode.CaptureLost))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no overflow event after {burst} bursts of 500 files with a 4-slot capture queue");
            var dir = Path.Combine(rig.SourceData, "burst" + burst.ToString(CultureInfo.InvariantCulture));
            Directory.CreateDirectory(dir);
            for (int i = 0; i < 500; i++)
                await File.WriteAllTextAsync(Path.Combine(dir, i.ToString(CultureInfo.InvariantCulture)), "x");
            burst++;
        }
        // Changes while the difference mirror runs must not be lost either.
        await churn.RunAsync(60);
        await rig.WaitForEventAsync(TimeSpan.FromSeconds(30), "a difference mirror after the overflow", before, EventCode.MirrorStarted);
        await rig.AssertConvergedAsync();
        await rig.AssertNoErrorEventsAsync();
    }
}
