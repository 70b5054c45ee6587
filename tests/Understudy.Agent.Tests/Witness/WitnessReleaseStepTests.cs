using Understudy.Agent.Events;
using Understudy.Agent.Identity;
using Understudy.Agent.Witness;
using Understudy.Core.Jobs;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Witness;

/// <summary>
/// Fail-back's "release the witness key" step against a real etcd on loopback: a witness that does not answer is
/// tried again for a bounded time (before, the first failure aborted the fail-back), and past the bound the step
/// aborts with what to do.
/// </summary>
public sealed class WitnessReleaseStepTests : IAsyncDisposable
{
    private readonly LoopbackEtcd _etcd = new();
    private readonly List<(EventCode Code, string Severity, string Message)> _events = [];

    private string Endpoint => _etcd.Endpoint;

    private TargetClaim NewClaim() => new(new WitnessKey(new WitnessSpec { Endpoints = ValueList.Of(Endpoint), Renew = TimeSpan.FromSeconds(1) }, "src-id", "web"),
        "tgt-id", TimeProvider.System, new ClaimReport((c, s, m) =>
        {
            lock (_events)
                _events.Add((c, s, m));
        }, _ => { }));

    private StepContext Context() => new("web", ProcessCommandRunner.Instance, new IdentityOptions(), (c, s, m, _) =>
    {
        lock (_events)
            _events.Add((c, s, m));
    }, _ => { });

    [Fact]
    public async Task WitnessDown_ThenBack_TheStepRetriesAndReleases()
    {
        await StartEtcdAsync();
        var claim = NewClaim();
        Assert.Equal(ClaimOutcome.Won, (await claim.TryTakeAsync(CancellationToken.None)).Outcome);
        StopEtcd();

        var step = new WitnessReleaseStep(claim, TimeProvider.System) { Bound = TimeSpan.FromSeconds(90) };
        var apply = step.ApplyAsync(Context(), CancellationToken.None);
        await Wait.UntilAsync(() => HasEvent(EventCode.WitnessReleaseRetrying), TimeSpan.FromSeconds(30), "the step to say it tries again");
        Assert.False(apply.IsCompleted);
        await StartEtcdAsync();
        await apply.WaitAsync(TimeSpan.FromSeconds(90));

        Assert.Null(await new EtcdClient([Endpoint], TimeSpan.FromSeconds(5)).GetAsync(claim.Key.Key, CancellationToken.None));
        Assert.True(HasEvent(EventCode.WitnessReleaseRecovered));
        Assert.Equal("released", claim.View().State);
    }

    [Fact]
    public async Task WitnessDown_PastTheBound_AbortsTheFailback_SayingWhatToRun()
    {
        var step = new WitnessReleaseStep(NewClaim(), TimeProvider.System) { Bound = TimeSpan.FromSeconds(3) };
        var e = await Assert.ThrowsAsync<StepFailedException>(() => step.ApplyAsync(Context(), CancellationToken.None));
        Assert.True(e.Abort);
        Assert.Contains("the fail-back is undone", e.Message, StringComparison.Ordinal);
        Assert.Contains("understudy failback web", e.Message, StringComparison.Ordinal);
        lock (_events)
            Assert.Single(_events, x => x.Code == EventCode.WitnessReleaseRetrying);
    }

    private bool HasEvent(EventCode code)
    {
        lock (_events)
            return _events.Any(e => e.Code == code);
    }

    private Task StartEtcdAsync() => _etcd.StartAsync();

    private void StopEtcd() => _etcd.Stop();

    public ValueTask DisposeAsync()
    {
        _etcd.Dispose();
        return ValueTask.CompletedTask;
    }
}
