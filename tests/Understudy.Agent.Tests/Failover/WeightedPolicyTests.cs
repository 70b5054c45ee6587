using Understudy.Agent.Failover;
using Understudy.Core.Jobs;
using Xunit;

namespace Understudy.Agent.Tests.Failover;

/// <summary><c>policy: weight</c>: the source is gone when the lost addresses weigh the threshold.</summary>
public sealed class WeightedPolicyTests
{
    // The host (icmp, weight 1), the file service (smb, weight 2), NFS (weight 1); gone at weight 2.
    private static readonly DecisionSettings Settings = new(3, MonitorPolicy.Weight, FailoverTrigger.Automatic) { Weights = [1, 2, 1], Threshold = 2 };

    [Theory]
    [InlineData(new[] { 0, 3, 0 }, true)]   // the share is dead while the host pings: that is what clients see
    [InlineData(new[] { 3, 0, 0 }, false)]  // ping lost alone
    [InlineData(new[] { 0, 0, 3 }, false)]  // NFS lost alone
    [InlineData(new[] { 3, 0, 3 }, true)]   // ping and NFS: 1 + 1
    [InlineData(new[] { 3, 2, 2 }, false)]  // the others only missing, not lost yet
    public void LostWeight_ReachingTheThreshold_FailsOver(int[] misses, bool failsOver)
    {
        var d = FailoverDecider.Decide(FailoverState.Suspect, misses, Settings, dismissed: false);
        Assert.Equal(failsOver, d.Action == FailoverAction.FailOver);
        if (failsOver)
            Assert.Contains("policy weight", d.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TimeLeft_CountsTheCheapestWayToTheThreshold()
    {
        // The share has 1 miss (2 to go), the host 2 (1 to go) and NFS 2 (1 to go): host + NFS weigh 2 after one more probe.
        var left = FailoverDecider.TimeLeft(FailoverState.Suspect, [2, 1, 2], Settings, TimeSpan.FromSeconds(1), dismissed: false);
        Assert.Equal(TimeSpan.FromSeconds(1), left);
        // The share alone weighs 2 and is closest: its 2 remaining probes.
        left = FailoverDecider.TimeLeft(FailoverState.Suspect, [0, 1, 0], Settings, TimeSpan.FromSeconds(1), dismissed: false);
        Assert.Equal(TimeSpan.FromSeconds(2), left);
    }
}
