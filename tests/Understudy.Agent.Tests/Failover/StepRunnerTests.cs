using Understudy.Agent.Events;
using Understudy.Agent.Failover;
using Understudy.Agent.Identity;
using Xunit;

namespace Understudy.Agent.Tests.Failover;

public sealed class StepRunnerTests
{
    /// <summary>A step that counts its applies and reverts, shared across "restarts"; it can crash or fail on demand.</summary>
    private sealed class CountingStep(string name, List<string> log) : IFailoverStep
    {
        public string Name => name;

        public Func<StepContext, Task>? OnApply { get; set; }

        public IReadOnlyList<string> Describe() => [name];

        public async Task ApplyAsync(StepContext ctx, CancellationToken ct)
        {
            log.Add("apply " + name);
            if (OnApply is not null)
                await OnApply(ctx);
        }

        public Task RevertAsync(StepContext ctx, CancellationToken ct)
        {
            log.Add($"revert {name} data={ctx.Data}");
            return Task.CompletedTask;
        }
    }

    private static (List<CountingStep> Plan, List<string> Log) Plan(int n)
    {
        var log = new List<string>();
        return ([.. Enumerable.Range(1, n).Select(i => new CountingStep($"s{i}", log))], log);
    }

    private static StepRunner Runner(StoreHarness h) => new(h.Store, h.Events, "src", "job", "failover", new FakeCommandRunner(), h.Options);

    [Fact]
    public async Task Run_AllSteps_AppliedInOrderAndJournaled()
    {
        using var h = new StoreHarness();
        var (plan, log) = Plan(3);
        var outcome = await Runner(h).RunAsync(plan, CancellationToken.None);
        Assert.True(outcome.Completed);
        Assert.Equal(["apply s1", "apply s2", "apply s3"], log);
        Assert.All(h.Store.ListSteps("src", "job", "failover"), s => Assert.Equal(StepStatus.Applied, s.Status));
    }

    [Fact]
    public async Task KilledMidRun_Restart_FinishesWithoutRepeatingDoneSteps()
    {
        using var h = new StoreHarness();
        var (plan, log) = Plan(5);
        // The agent "dies" inside step 3: its cancellation stands for the process going away.
        using var kill = new CancellationTokenSource();
        plan[2].OnApply = ctx =>
        {
            ctx.SaveData("half-done");
            kill.Cancel();
            kill.Token.ThrowIfCancellationRequested();
            return Task.CompletedTask;
        };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Runner(h).RunAsync(plan, kill.Token));
        Assert.Equal(["apply s1", "apply s2", "apply s3"], log);
        var journal = h.Store.ListSteps("src", "job", "failover");
        Assert.Equal([StepStatus.Applied, StepStatus.Applied, StepStatus.Applying], journal.Select(s => s.Status));
        Assert.Equal("half-done", journal[2].Data);

        h.Reopen();
        log.Clear();
        string? seenData = null;
        plan[2].OnApply = ctx =>
        {
            seenData = ctx.Data;
            return Task.CompletedTask;
        };
        var outcome = await Runner(h).RunAsync(plan, CancellationToken.None);
        Assert.True(outcome.Completed);
        Assert.Equal(["apply s3", "apply s4", "apply s5"], log);
        Assert.Equal("half-done", seenData);
        Assert.Contains(h.EventsOf("job"), e => e.Code == EventCode.StepsResumed && e.Message.Contains("2 of 5", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AbortingFailure_RevertsTouchedStepsInReverse()
    {
        using var h = new StoreHarness();
        var (plan, log) = Plan(4);
        plan[2].OnApply = _ => throw new StepFailedException("no", abort: true);
        var outcome = await Runner(h).RunAsync(plan, CancellationToken.None);
        Assert.False(outcome.Completed);
        Assert.Equal("no", outcome.AbortReason);
        Assert.Equal(["apply s1", "apply s2", "apply s3", "revert s3 data=", "revert s2 data=", "revert s1 data="], log);
        Assert.Equal(3, h.Store.ListSteps("src", "job", "failover").Count(s => s.Status == StepStatus.Reverted));
    }

    [Fact]
    public async Task WarningFailure_Continues()
    {
        using var h = new StoreHarness();
        var (plan, log) = Plan(3);
        plan[1].OnApply = _ => throw new StepFailedException("meh", abort: false);
        var outcome = await Runner(h).RunAsync(plan, CancellationToken.None);
        Assert.True(outcome.Completed);
        Assert.Equal(1, outcome.Warnings);
        Assert.Equal(["apply s1", "apply s2", "apply s3"], log);
    }

    [Fact]
    public async Task KilledDuringUndo_Restart_FinishesTheUndo()
    {
        using var h = new StoreHarness();
        var (plan, log) = Plan(3);
        // Journal as a crash would leave it: s1 applied, s2 failed, nothing reverted yet.
        h.Store.SaveStep("src", "job", "failover", new State.StoredStep(0, "s1", StepStatus.Applied, "d1", null));
        h.Store.SaveStep("src", "job", "failover", new State.StoredStep(1, "s2", StepStatus.Failed, null, "boom"));
        var outcome = await Runner(h).RunAsync(plan, CancellationToken.None);
        Assert.False(outcome.Completed);
        Assert.Equal(["revert s2 data=", "revert s1 data=d1"], log);
    }

    [Fact]
    public async Task ChangedPlan_StaleJournalEntriesAreIgnored()
    {
        using var h = new StoreHarness();
        h.Store.SaveStep("src", "job", "failover", new State.StoredStep(0, "other", StepStatus.Applied, null, null));
        var (plan, log) = Plan(2);
        await Runner(h).RunAsync(plan, CancellationToken.None);
        Assert.Equal(["apply s1", "apply s2"], log);
    }
}
