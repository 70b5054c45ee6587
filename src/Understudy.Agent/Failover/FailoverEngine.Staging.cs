using Understudy.Agent.Events;
using Understudy.Agent.Identity;

namespace Understudy.Agent.Failover;

/// <summary>
/// The take-over's configuration staged while the source is suspect (issue 21): from the first miss, the server name's
/// and the shares' files (<see cref="IStagedStep"/>) are written durably under names smbd never reads, so the decision
/// only renames them in place and reloads. Nothing is served before the decision: the staged files are not included
/// anywhere. When the source answers again (or the job goes pending, or the take-over ends) the stage is removed.
/// Stage and unstage run in order, one after the other, off the engine's lock (file writes and fsyncs).
/// </summary>
internal sealed partial class FailoverEngine
{
    private Task _staging = Task.CompletedTask;
    private bool _staged;

    /// <summary>Stages or unstages for the state being entered; under the engine's lock. A take-over keeps the stage: its steps use it.</summary>
    private void StageFor(FailoverState state)
    {
        // Nothing is written for a plan this target's operator has not approved.
        if (state == FailoverState.Suspect && !_staged && NotApprovedReason() is null)
        {
            _staged = true;
            Then(Stage);
        }
        else if (state is not (FailoverState.Suspect or FailoverState.FailingOver) && _staged)
        {
            _staged = false;
            Then(Unstage);
        }
    }

    /// <summary>The staged steps of the plan (tests look at them).</summary>
    internal IReadOnlyList<IStagedStep> StagedSteps() => [.. BuildPlan(force: false).OfType<IStagedStep>()];

    /// <summary>The stage and unstage queued so far have run (tests wait on it).</summary>
    internal Task StagingDone
    {
        get
        {
            lock (_lock)
                return _staging;
        }
    }

    private void Then(Action action) =>
        _staging = _staging.ContinueWith(_ => action(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);

    private void Stage()
    {
        try
        {
            var steps = StagedSteps();
            if (steps.Count == 0)
                return;
            foreach (var s in steps)
                s.Stage();
            _s.Events.Record(EventCode.IdentityStaged, Severity.Info, "failover", Job,
                $"source {SourceName} suspect: staged {string.Join(", ", steps.Select(s => s.Name))} (written, not served) so that a take-over only puts them in place and reloads");
        }
        catch (Exception e)
        {
            _s.Events.Record(EventCode.IdentityStagingFailed, Severity.Warning, "failover", Job,
                $"could not stage the take-over's configuration ({e.Message}); a take-over writes it in full");
        }
    }

    private void Unstage()
    {
        try
        {
            var steps = StagedSteps();
            if (steps.Count == 0)
                return;
            bool any = steps.Any(s => s.Staged);
            foreach (var s in steps)
                s.Unstage();
            if (any)
                _s.Events.Record(EventCode.IdentityUnstaged, Severity.Info, "failover", Job, $"removed the staged configuration ({State.Name()})");
        }
        catch (Exception e)
        {
            _s.Events.Record(EventCode.IdentityStagingFailed, Severity.Warning, "failover", Job,
                $"could not remove the staged configuration ({e.Message}); it is never served, and a later take-over does not use it unless it is still exact");
        }
    }
}
