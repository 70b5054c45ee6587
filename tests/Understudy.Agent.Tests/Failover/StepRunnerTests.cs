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

    /// <summary>A configuration step (as the shares and the server name are) that runs a callback.</summary>
    private sealed class ConfigStep(string name, Func<Task> apply) : IConfigurationStep
    {
        public string Name => name;

        public IReadOnlyList<string> Describe() => [name];

        public Task ApplyAsync(StepContext ctx, CancellationToken ct) => apply();

        public Task RevertAsync(StepContext ctx, CancellationToken ct) => Task.CompletedTask;
    }

    /// <summary>Stop replication that ends only when it is told to.</summary>
    private sealed class HeldStop(Task release) : IReplicationControl
    {
        public bool Stopped { get; private set; }

        public async Task<long> StopAsync(string sourceId, string job, CancellationToken ct)
        {
            await release.WaitAsync(ct);
            Stopped = true;
            return 7;
        }
    }

    /// <summary>
    /// Issue 21: stop replication runs beside the configuration steps after it (nothing reaches a share at the service
    /// address before the addresses move), and the first other step waits for it. Failed first on the sequential runner:
    /// the stop waited for the shares step, which never ran (the run timed out).
    /// </summary>
    [Fact]
    public async Task StopReplication_RunsBesideTheConfigurationSteps_TheNextOtherStepWaitsForIt()
    {
        using var h = new StoreHarness();
        var shares = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var control = new HeldStop(shares.Task);
        bool stoppedWhenAddressRan = false;
        var log = new List<string>();
        var address = new CountingStep("address", log) { OnApply = _ => { stoppedWhenAddressRan = control.Stopped; return Task.CompletedTask; } };
        IFailoverStep[] plan =
        [
            new StopReplicationStep("src", "job", control, () => null),
            new ConfigStep("name", () => Task.CompletedTask),
            new ConfigStep("shares", () => { shares.SetResult(); return Task.CompletedTask; }),
            address,
        ];
        var outcome = await Runner(h).RunAsync(plan, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(outcome.Completed);
        Assert.True(stoppedWhenAddressRan);
        Assert.Equal(["stop replication", "name", "shares", "address"], h.Store.ListSteps("src", "job", "failover").Select(s => s.Name));
        Assert.All(h.Store.ListSteps("src", "job", "failover"), s => Assert.Equal(StepStatus.Applied, s.Status));
    }

    /// <summary>A step that aborts while stop replication still runs beside it: the stop is waited for, then every touched step is undone.</summary>
    [Fact]
    public async Task ConfigurationStepAborts_WhileStopRuns_StopEndsThenAllUndone()
    {
        using var h = new StoreHarness();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var control = new HeldStop(release.Task);
        IFailoverStep[] plan =
        [
            new StopReplicationStep("src", "job", control, () => null),
            new ConfigStep("shares", () =>
            {
                release.SetResult();
                throw new StepFailedException("boom", abort: true);
            }),
        ];
        var outcome = await Runner(h).RunAsync(plan, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.False(outcome.Completed);
        Assert.True(control.Stopped);
        Assert.All(h.Store.ListSteps("src", "job", "failover"), s => Assert.Equal(StepStatus.Reverted, s.Status));
    }
}
