using Understudy.Agent.Events;
using Understudy.Agent.Failover;
using Understudy.Agent.Identity;
using Understudy.Core.Jobs;
using Understudy.Core.Protocol.Control;

namespace Understudy.Agent.Restore;

/// <summary>
/// Stops new writes on this target's copies of the shares before the last sync: the job's share
/// definitions are rewritten with <c>read only = yes</c> and smbd reloads. Revert writes them back as
/// the fail-over made them (and a completed fail-back removes them with the rest of the identity).
/// </summary>
internal sealed class StopWritesStep(SharesStep readOnly, SharesStep writable) : IFailoverStep
{
    public string Name => "stop writes on the shares";

    public IReadOnlyList<string> Describe() => ["make the shares read only (read only = yes), then reload smbd", .. readOnly.Describe()];

    public Task ApplyAsync(StepContext ctx, CancellationToken ct) => readOnly.ApplyAsync(ctx, ct);

    public Task RevertAsync(StepContext ctx, CancellationToken ct) => writable.ApplyAsync(ctx, ct);
}

/// <summary>
/// A round of the restore after writes stopped: the source then holds everything clients wrote here. The fail-back runs
/// it twice: once while the shares are read only and the address still answers (clients keep reading; the round carries
/// nearly everything), and once more after the identity is released (<paramref name="afterRelease"/>), for what was in
/// flight when writes stopped: smbd applies <c>read only = yes</c> and its reload asynchronously, so a client connected
/// before could still finish a write after the first round, and an NFS export has no read-only stage at all (chaos
/// seeds 20021 and 20022: a write acknowledged 10–40 ms after the first round was on neither host after the fail-back).
/// With the identity released no client reaches these shares or exports, so nothing can follow the second round.
/// </summary>
internal sealed class FinalSyncStep(Func<RestoreRun?> run, bool afterRelease = false) : IFailoverStep
{
    /// <summary>How long the step waits for the polling source to (re)connect, e.g. after a restart of either agent.</summary>
    public static readonly TimeSpan LinkWait = TimeSpan.FromSeconds(60);

    public string Name => afterRelease ? "last restore sync after the identity is released" : "final restore sync";

    public IReadOnlyList<string> Describe() => [afterRelease
        ? "run one more difference mirror to the source, now that no client reaches this target's shares and exports, for writes that were in flight when writes stopped"
        : "run a last difference mirror of this target's copy to the source and wait until it is durable there"];

    public async Task ApplyAsync(StepContext ctx, CancellationToken ct)
    {
        var r = run() ?? throw new StepFailedException("no restore is running", abort: true);
        try
        {
            await r.SyncAllAsync(LinkWait, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new StepFailedException($"the final sync to the source failed: {e.Message}", abort: true);
        }
        var v = r.View();
        if (afterRelease)
            ctx.Info(EventCode.FailbackLastSync, $"last sync after the identity was released done ({v.FilesDone} files, {v.BytesDone} bytes in that round)");
        else
            ctx.Info(EventCode.FailbackFinalSync, $"the source holds this target's data: final sync done ({v.FilesDone} files, {v.BytesDone} bytes in the last round)");
    }

    public Task RevertAsync(StepContext ctx, CancellationToken ct) => Task.CompletedTask;
}

/// <summary>
/// Gives the source's identity up on this target: the fail-over's own journal is reverted, last step
/// first (NFS exports, shares, name, addresses; in replace mode the target's own addresses come back).
/// Revert (when the source cannot reclaim) takes the identity again by re-running the fail-over plan.
/// </summary>
internal sealed class ReleaseIdentityStep(Func<StepRunner> failoverRunner, Func<IReadOnlyList<IFailoverStep>> failoverPlan, Action clearJournal) : IFailoverStep
{
    public string Name => "release the source's identity";

    public IReadOnlyList<string> Describe() =>
        ["undo the fail-over's identity steps on this target, last first:", .. failoverPlan().Select(s => "  undo " + s.Name).Reverse()];

    public Task ApplyAsync(StepContext ctx, CancellationToken ct) => failoverRunner().RevertAsync(failoverPlan(), ct);

    public async Task RevertAsync(StepContext ctx, CancellationToken ct)
    {
        clearJournal();
        var outcome = await failoverRunner().RunAsync(failoverPlan(), ct);
        if (!outcome.Completed)
            ctx.Warn(EventCode.FailbackIdentityNotRetaken, $"could not take the identity back after an aborted fail-back: {outcome.AbortReason}");
    }
}

/// <summary>The source adds its addresses back (after duplicate address detection) and announces them; it undoes its own part on failure.</summary>
internal sealed class ReclaimStep(Func<RestoreRun?> run, IReadOnlyList<string> addresses) : IFailoverStep
{
    public string Name => "source reclaims its identity";

    public IReadOnlyList<string> Describe() =>
        [addresses.Count == 0 ? "tell the source it may act as itself again (no addresses to move)"
            : $"the source adds {string.Join(", ", addresses)} after duplicate address detection, then sends gratuitous ARP"];

    public async Task ApplyAsync(StepContext ctx, CancellationToken ct)
    {
        var r = run() ?? throw new StepFailedException("no restore is running", abort: true);
        ReclaimReply reply;
        try
        {
            reply = await r.ReclaimAsync(ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new StepFailedException($"could not reach the source to reclaim its identity: {e.Message}", abort: true);
        }
        if (!reply.Ok)
            throw new StepFailedException($"the source could not reclaim its identity: {reply.Error}", abort: true);
        ctx.Info(EventCode.FailbackSourceReady, reply.Added.Count == 0 ? "the source is ready to act as itself" : $"the source holds {string.Join(", ", reply.Added)} again");
    }

    public Task RevertAsync(StepContext ctx, CancellationToken ct) => Task.CompletedTask;
}

/// <summary>Builds the fail-back plan (docs/architecture.md, "Restore and fail-back"). Deterministic, like <see cref="TakeoverPlan"/>.</summary>
internal static class FailbackPlan
{
    public static IReadOnlyList<IFailoverStep> Build(JobSpec spec, string sourceName, IdentityOptions options, Func<RestoreRun?> run,
        Func<StepRunner> failoverRunner, Func<IReadOnlyList<IFailoverStep>> failoverPlan, Action clearFailoverJournal, IFailoverStep? releaseWitness = null)
    {
        var f = spec.Failover ?? throw new InvalidOperationException($"job '{spec.Name}' has no fail-over section");
        var scripts = f.Scripts ?? new ScriptsSpec();
        var addresses = (f.Identity.Addresses ?? ValueList<IdentityAddress>.Empty).Select(a => a.Address).ToList();
        var shares = (f.Identity.Shares ?? ValueList<ShareSpec>.Empty).Select(s => (s.Name,
            Path: spec.TryMapToTarget(s.Path, out var t) ? t : s.Path,
            Options: (IReadOnlyList<(string, string)>)[.. (s.Options ?? ValueList<ShareOption>.Empty).Select(o => (o.Name, o.Value))])).ToList();
        var env = new Func<string, ScriptEnvironment>(phase => new ScriptEnvironment(spec.Name, phase, addresses, [.. shares.Select(s => s.Name)]));

        var steps = new List<IFailoverStep>();
        int n = 0;
        foreach (var s in scripts.PreFailback ?? ValueList<ScriptSpec>.Empty)
            steps.Add(new ScriptStep(s, env(ScriptEnvironment.PreFailback), scripts.AbortOnPreFailure, n++));
        if (shares.Count > 0)
        {
            var readOnly = shares.Select(s => (s.Name, s.Path,
                (IReadOnlyList<(string, string)>)[.. s.Options.Where(o => !o.Item1.Equals("read only", StringComparison.OrdinalIgnoreCase)), ("read only", "yes")])).ToList();
            steps.Add(new StopWritesStep(new SharesStep(spec.Name, sourceName, readOnly, options), new SharesStep(spec.Name, sourceName, shares, options)));
        }
        steps.Add(new FinalSyncStep(run));
        steps.Add(new ReleaseIdentityStep(failoverRunner, failoverPlan, clearFailoverJournal));
        steps.Add(new FinalSyncStep(run, afterRelease: true));
        // With a witness the key goes back after the identity and before the source reclaims: the source takes it first.
        if (releaseWitness is not null)
            steps.Add(releaseWitness);
        steps.Add(new ReclaimStep(run, addresses));
        n = 0;
        foreach (var s in scripts.PostFailback ?? ValueList<ScriptSpec>.Empty)
            steps.Add(new ScriptStep(s, env(ScriptEnvironment.PostFailback), abortOnFailure: false, n++));
        return steps;
    }
}
