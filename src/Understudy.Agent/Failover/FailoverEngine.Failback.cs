using Understudy.Agent.Events;
using Understudy.Agent.Identity;
using Understudy.Agent.Jobs;
using Understudy.Agent.Restore;

namespace Understudy.Agent.Failover;

// Restore and fail-back (docs/architecture.md, "Restore and fail-back"): failed-over → restoring → failing-back → protecting.
internal sealed partial class FailoverEngine
{
    public const string FailbackPhase = "failback";

    private const string FailbackAborted = "fail-back aborted: ";

    private RestoreRun? _restoreRun;
    private Task<RunOutcome>? _failback;

    /// <summary>The restore while restoring or failing back (created again after a restart of this agent).</summary>
    public RestoreRun? RestoreRun
    {
        get
        {
            lock (_lock)
            {
                if (_restoreRun is null && State is FailoverState.Restoring or FailoverState.FailingBack)
                    _restoreRun = new RestoreRun(Spec, SourceId, _s.Store, _s.Events, _s.Time, _s.Settings.RestoreSync);
                return _restoreRun;
            }
        }
    }

    /// <summary>The running fail-back, if any (tests wait on it).</summary>
    public Task<RunOutcome>? Failback
    {
        get
        {
            lock (_lock)
                return _failback;
        }
    }

    /// <summary>`understudy restore NAME [--force]`: start sending this target's data back to the source (idempotent while restoring).</summary>
    /// <exception cref="JobRequestException">409: not failed over.</exception>
    public RestoreView StartRestore(bool force)
    {
        RestoreRun run;
        lock (_lock)
        {
            switch (State)
            {
                case FailoverState.FailedOver:
                    _restoreRun = new RestoreRun(Spec, SourceId, _s.Store, _s.Events, _s.Time, _s.Settings.RestoreSync) { Force = force };
                    _restoreRun.ResetConflicts();
                    _s.Events.Record(EventCode.RestoreRequested, Severity.Info, "restore", Job,
                        $"restore requested: this target's copy goes back to {SourceName} ({JobEnumName(Spec.Restore.Mode)} mode, conflicts {Core.Jobs.JobEnum<Core.Jobs.ConflictPolicy>.Name(_restoreRun.Policy)}); "
                        + "it starts when the passive source agent next connects (every few seconds while it runs)");
                    SetState(FailoverState.Restoring, _restoreRun.Describe(), dismissed: false);
                    break;
                case FailoverState.Restoring:
                    if (force)
                        (_restoreRun ??= new RestoreRun(Spec, SourceId, _s.Store, _s.Events, _s.Time, _s.Settings.RestoreSync)).Force = true;
                    break;
                case FailoverState.FailingBack:
                    throw new JobRequestException($"job '{Job}' is failing back already; wait for it ('understudy status {Job}')", 409);
                default:
                    throw new JobRequestException($"job '{Job}' is {State.Name()}: there is nothing to restore (a restore follows a fail-over: "
                        + $"'understudy failover {Job}' first)", 409);
            }
            run = _restoreRun ??= new RestoreRun(Spec, SourceId, _s.Store, _s.Events, _s.Time, _s.Settings.RestoreSync);
        }
        return run.View();
    }

    /// <summary>
    /// The reason shown while restoring: the restore's progress now (the reason stored when it was asked for
    /// said "waiting for the source" long after it was in sync), after an aborted fail-back's reason, which stays
    /// until the next fail-back.
    /// </summary>
    private string? RestoringReason()
    {
        if (_restoreRun is not { } run)
            return _reason;
        var now = run.Describe();
        return _reason is { } r && r.StartsWith(FailbackAborted, StringComparison.Ordinal) ? $"{r}; {now}" : now;
    }

    private static string JobEnumName(Core.Jobs.RestoreMode m) => Core.Jobs.JobEnum<Core.Jobs.RestoreMode>.Name(m);

    /// <summary>`understudy failback NAME`: refused (409, with what to run instead) unless the restore is in sync, the source connected and not holding the identity.</summary>
    public async Task<RunOutcome> FailbackAsync(CancellationToken ct)
    {
        Task<RunOutcome>? running;
        lock (_lock)
            running = State == FailoverState.FailingBack ? _failback : null;
        if (running is not null)
            return await running.WaitAsync(ct);
        if (FailbackRefusal() is { } refused)
            throw new JobRequestException(refused, 409);
        var run = RestoreRun!;
        IReadOnlyList<string> held;
        try
        {
            held = await run.HeldBySourceAsync(ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new JobRequestException($"fail-back refused: the source did not answer ({e.Message}); make sure its agent runs, then run 'understudy failback {Job}' again", 409);
        }
        if (held.Count > 0)
            throw new JobRequestException($"fail-back refused: the source's identity is still active: {SourceName} holds {string.Join(", ", held)} "
                + $"(both hosts would answer). Remove it there (e.g. 'ip addr del ADDRESS dev IF'), then run 'understudy failback {Job}' again", 409);
        lock (_lock)
        {
            if (State == FailoverState.FailingBack && _failback is not null)
                running = _failback;
            else if (State != FailoverState.Restoring)
                throw new JobRequestException($"job '{Job}' is {State.Name()} now", 409);
            else
            {
                _held.WriteClearSteps(FailbackPhase, () => _s.Store.ClearSteps(SourceId, Job, FailbackPhase));
                _s.Events.Record(EventCode.FailbackStarted, Severity.Info, "failback", Job, $"fail-back to {SourceName} started");
                SetState(FailoverState.FailingBack, "fail-back started", dismissed: false);
                running = _failback = RunFailbackAsync(_stop.Token);
            }
        }
        return await running.WaitAsync(ct);
    }

    /// <summary>
    /// Why a fail-back would be refused now, saying what to run instead; null when it may start (or is running).
    /// Only what this agent knows: whether the source still holds an identity address is asked when it starts.
    /// </summary>
    public string? FailbackRefusal()
    {
        lock (_lock)
        {
            if (State == FailoverState.FailingBack)
                return null;
            if (State == FailoverState.FailedOver)
                return $"job '{Job}' is failed over but not restored: run 'understudy restore {Job}', wait until 'understudy status {Job}' shows the restore in sync, then 'understudy failback {Job}'";
            if (State != FailoverState.Restoring)
                return $"job '{Job}' is {State.Name()}: fail-back needs a fail-over and a restore first";
        }
        var run = RestoreRun!;
        if (run.StoppedReason is { } stopped)
            return $"the restore stopped at a conflict: {stopped}";
        return run.RefusalForFailback() is { } why ? $"fail-back refused: {why}" : null;
    }

    public IReadOnlyList<IFailoverStep> BuildFailbackPlan() =>
        FailbackPlan.Build(Spec, SourceName, _s.Options, () => RestoreRun, FailoverRunner, () => BuildPlan(force: false),
            () => _held.WriteClearSteps(Phase, () => _s.Store.ClearSteps(SourceId, Job, Phase)), WitnessReleaseStep());

    private StepRunner FailoverRunner() => new(_s.Store, _s.Events, SourceId, Job, Phase, _s.Commands, _s.Options, _held);

    /// <summary>After a restart in failing-back: finish (or finish undoing) the fail-back from its journal.</summary>
    private void ResumeFailback()
    {
        lock (_lock)
        {
            if (State == FailoverState.FailingBack && _failback is null)
                _failback = RunFailbackAsync(_stop.Token);
        }
    }

    private async Task<RunOutcome> RunFailbackAsync(CancellationToken ct)
    {
        await Task.Yield();
        RunOutcome outcome;
        try
        {
            // The identity keeper's pass under way ends first; it skips every pass after (the state is failing-back).
            await _identityGate.WaitAsync(ct);
            try
            {
                outcome = await new StepRunner(_s.Store, _s.Events, SourceId, Job, FailbackPhase, _s.Commands, _s.Options, _held).RunAsync(BuildFailbackPlan(), ct);
            }
            finally
            {
                _identityGate.Release();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return RunOutcome.Aborted("the agent stopped during the fail-back; it resumes on the next start");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            outcome = RunOutcome.Aborted(e.Message);
        }
        var run = RestoreRun;
        lock (_lock)
        {
            if (outcome.Completed)
            {
                _held.WriteClearSteps(Phase, () => _s.Store.ClearSteps(SourceId, Job, Phase));
                _s.Events.Record(EventCode.FailbackCompleted, Severity.Info, "failback", Job,
                    $"failed back: {SourceName} holds its identity again; forward replication resumes{(outcome.Warnings > 0 ? $" ({outcome.Warnings} warnings)" : "")}");
                _claimWon = false; // the fail-back's own step gave the witness key back
                SetState(FailoverState.Protecting, $"failed back at {_s.Time.GetUtcNow():O}", dismissed: false);
            }
            else
            {
                _s.Events.Record(EventCode.FailbackAborted, Severity.Error, "failback", Job,
                    $"fail-back aborted and undone: {outcome.AbortReason}; still restoring ('understudy failback {Job}' to retry)");
                SetState(FailoverState.Restoring, FailbackAborted + outcome.AbortReason, dismissed: false);
            }
            _failback = null;
        }
        if (outcome.Completed && run is not null)
        {
            await run.ResumeAsync(ct);
            lock (_lock)
                _restoreRun = null;
            await run.DisposeAsync();
        }
        return outcome;
    }

    private async Task DisposeFailbackAsync()
    {
        Task<RunOutcome>? f;
        RestoreRun? r;
        lock (_lock)
        {
            f = _failback;
            r = _restoreRun;
        }
        if (f is not null)
            await f;
        if (r is not null)
            await r.DisposeAsync();
    }
}
