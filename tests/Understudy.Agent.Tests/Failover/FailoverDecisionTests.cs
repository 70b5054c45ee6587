using Understudy.Agent.Failover;
using Understudy.Core.Jobs;
using Xunit;

namespace Understudy.Agent.Tests.Failover;

public sealed class FailoverDecisionTests
{
    private static DecisionSettings S(MonitorPolicy policy = MonitorPolicy.All, FailoverTrigger trigger = FailoverTrigger.Manual, int misses = 3) =>
        new(misses, policy, trigger);

    private static Decision D(FailoverState state, int[] misses, DecisionSettings s, bool dismissed = false) =>
        FailoverDecider.Decide(state, misses, s, dismissed);

    [Fact]
    public void AllUp_Protecting_NothingHappens()
    {
        var d = D(FailoverState.Protecting, [0, 0], S());
        Assert.Equal((FailoverAction.None, FailoverState.Protecting), (d.Action, d.Next));
    }

    [Fact]
    public void FirstMiss_Protecting_BecomesSuspect()
    {
        var d = D(FailoverState.Protecting, [1, 0], S());
        Assert.Equal((FailoverAction.Suspect, FailoverState.Suspect), (d.Action, d.Next));
    }

    [Fact]
    public void MissesBelowThreshold_Suspect_StaysSuspect()
    {
        var d = D(FailoverState.Suspect, [2, 2], S(MonitorPolicy.Any));
        Assert.Equal((FailoverAction.None, FailoverState.Suspect), (d.Action, d.Next));
    }

    [Theory]
    [InlineData((int)MonitorPolicy.Any, new[] { 3, 0 }, true)]
    [InlineData((int)MonitorPolicy.Any, new[] { 2, 2 }, false)]
    [InlineData((int)MonitorPolicy.All, new[] { 3, 0 }, false)]
    [InlineData((int)MonitorPolicy.All, new[] { 3, 2 }, false)]
    [InlineData((int)MonitorPolicy.All, new[] { 3, 3 }, true)]
    [InlineData((int)MonitorPolicy.All, new[] { 7, 4 }, true)]
    [InlineData((int)MonitorPolicy.All, new[] { 3 }, true)]
    [InlineData((int)MonitorPolicy.Any, new[] { 3 }, true)]
    public void Policy_DecidesWhenTheSourceIsGone(int policyValue, int[] misses, bool gone)
    {
        var policy = (MonitorPolicy)policyValue;
        var d = D(FailoverState.Suspect, misses, S(policy, FailoverTrigger.Automatic));
        Assert.Equal(gone ? FailoverAction.FailOver : FailoverAction.None, d.Action);
        Assert.Equal(gone ? FailoverState.FailingOver : FailoverState.Suspect, d.Next);
    }

    [Fact]
    public void Gone_Manual_RaisesPendingOnce()
    {
        var first = D(FailoverState.Suspect, [3, 3], S());
        Assert.Equal((FailoverAction.RaisePending, FailoverState.Pending), (first.Action, first.Next));
        var again = D(FailoverState.Pending, [4, 4], S());
        Assert.Equal((FailoverAction.None, FailoverState.Pending), (again.Action, again.Next));
    }

    [Fact]
    public void Gone_Automatic_FromProtecting_FailsOverAtOnce()
    {
        // misses == 1 with a threshold of 1: protecting goes straight to failing over
        var d = D(FailoverState.Protecting, [1], S(MonitorPolicy.Any, FailoverTrigger.Automatic, misses: 1));
        Assert.Equal((FailoverAction.FailOver, FailoverState.FailingOver), (d.Action, d.Next));
    }

    [Fact]
    public void Pending_Automatic_DoesNotRetryByItself()
    {
        // An aborted fail-over lands in pending; the monitor must not flap it.
        var d = D(FailoverState.Pending, [9, 9], S(trigger: FailoverTrigger.Automatic));
        Assert.Equal((FailoverAction.None, FailoverState.Pending), (d.Action, d.Next));
    }

    [Fact]
    public void Recovery_ResetsToProtecting()
    {
        foreach (var state in new[] { FailoverState.Suspect, FailoverState.Pending })
        {
            var d = D(state, [0, 0], S());
            Assert.Equal((FailoverAction.Recover, FailoverState.Protecting), (d.Action, d.Next));
        }
    }

    [Fact]
    public void PartialRecovery_Pending_BackToSuspect()
    {
        var d = D(FailoverState.Pending, [0, 5], S(MonitorPolicy.All));
        Assert.Equal((FailoverAction.Suspect, FailoverState.Suspect), (d.Action, d.Next));
    }

    [Fact]
    public void Dismissed_HoldsUntilEveryAddressAnswers()
    {
        var stillGone = D(FailoverState.Protecting, [5, 5], S(trigger: FailoverTrigger.Automatic), dismissed: true);
        Assert.Equal(FailoverAction.None, stillGone.Action);
        Assert.True(stillGone.Dismissed);
        Assert.Equal(FailoverState.Protecting, stillGone.Next);

        var partly = D(FailoverState.Protecting, [0, 5], S(), dismissed: true);
        Assert.True(partly.Dismissed);

        var back = D(FailoverState.Suspect, [0, 0], S(), dismissed: true);
        Assert.Equal((FailoverAction.Recover, FailoverState.Protecting, false), (back.Action, back.Next, back.Dismissed));

        var backFromProtecting = D(FailoverState.Protecting, [0, 0], S(), dismissed: true);
        Assert.False(backFromProtecting.Dismissed);
    }

    [Theory]
    [InlineData((int)FailoverState.FailingOver)]
    [InlineData((int)FailoverState.FailedOver)]
    [InlineData((int)FailoverState.Restoring)]
    [InlineData((int)FailoverState.FailingBack)]
    public void IdentityHeld_MonitorChangesNothing(int stateValue)
    {
        var state = (FailoverState)stateValue;
        foreach (var misses in new[] { new[] { 0, 0 }, [9, 9], [9, 0] })
        {
            var d = D(state, misses, S(MonitorPolicy.Any, FailoverTrigger.Automatic));
            Assert.Equal((FailoverAction.None, state), (d.Action, d.Next));
        }
    }

    [Theory]
    [InlineData((int)FailoverState.Protecting)]
    [InlineData((int)FailoverState.Suspect)]
    [InlineData((int)FailoverState.Pending)]
    public void Command_FailOver_AllowedWhileMonitoring(int stateValue)
    {
        var state = (FailoverState)stateValue;
        var (d, refusal) = FailoverDecider.Command(state, OperatorCommand.FailOver, dismissed: true);
        Assert.Null(refusal);
        Assert.Equal((FailoverAction.FailOver, FailoverState.FailingOver), (d!.Action, d.Next));
    }

    [Theory]
    [InlineData((int)FailoverState.FailingOver)]
    [InlineData((int)FailoverState.FailedOver)]
    [InlineData((int)FailoverState.Restoring)]
    [InlineData((int)FailoverState.FailingBack)]
    public void Command_FailOver_RefusedOnceFailedOver(int stateValue)
    {
        var state = (FailoverState)stateValue;
        var (d, refusal) = FailoverDecider.Command(state, OperatorCommand.FailOver, false);
        Assert.Null(d);
        Assert.NotNull(refusal);
    }

    [Fact]
    public void Command_Dismiss_OnlyWhenSomethingIsPendingOrSuspect()
    {
        var (d, _) = FailoverDecider.Command(FailoverState.Pending, OperatorCommand.Dismiss, false);
        Assert.Equal((FailoverState.Protecting, true), (d!.Next, d.Dismissed));
        Assert.NotNull(FailoverDecider.Command(FailoverState.Protecting, OperatorCommand.Dismiss, false).Refusal);
        Assert.NotNull(FailoverDecider.Command(FailoverState.FailedOver, OperatorCommand.Dismiss, false).Refusal);
    }

    [Fact]
    public void TimeLeft_CountsProbesToTheTrigger()
    {
        var i = TimeSpan.FromSeconds(1);
        Assert.Equal(TimeSpan.FromSeconds(3), FailoverDecider.TimeLeft(FailoverState.Protecting, [0, 0], S(MonitorPolicy.Any), i, false));
        Assert.Equal(TimeSpan.FromSeconds(1), FailoverDecider.TimeLeft(FailoverState.Suspect, [2, 0], S(MonitorPolicy.Any), i, false));
        Assert.Equal(TimeSpan.FromSeconds(3), FailoverDecider.TimeLeft(FailoverState.Suspect, [2, 0], S(MonitorPolicy.All), i, false));
        Assert.Equal(TimeSpan.Zero, FailoverDecider.TimeLeft(FailoverState.Pending, [3, 3], S(), i, false));
        Assert.Null(FailoverDecider.TimeLeft(FailoverState.FailedOver, [3, 3], S(), i, false));
        Assert.Null(FailoverDecider.TimeLeft(FailoverState.Protecting, [3, 3], S(), i, dismissed: true));
    }
}
