using Understudy.Agent.Events;
using Understudy.Agent.Identity;
using Understudy.Agent.State;

namespace Understudy.Agent.Failover;

/// <summary>How a run of steps ended.</summary>
internal sealed record RunOutcome(bool Completed, string? AbortReason, int Warnings)
{
    public static RunOutcome Done(int warnings) => new(true, null, warnings);

    public static RunOutcome Aborted(string reason) => new(false, reason, 0);
}

/// <summary>Journal statuses of a step (column failover_steps.status).</summary>
internal static class StepStatus
{
    public const string Applying = "applying";
    public const string Applied = "applied";
    public const string Warning = "applied-with-warning";
    public const string Failed = "failed";
    public const string Reverted = "reverted";
}

/// <summary>
/// Runs a plan of idempotent steps with a journal in the state store: a step is written as
/// "applying" (with its scratch data) BEFORE it runs and "applied" after, so an agent killed in the
/// middle resumes where it stopped — applied steps are skipped, the interrupted one runs again. An
/// aborting failure is written as "failed" first and the applied steps are then reverted in reverse
/// order; a restart that finds a "failed" step finishes that undo instead of going forward.
/// With <paramref name="held"/>, a journal write the store refuses (a full data directory) is held in memory and
/// stored later (<see cref="HeldWrites"/>) instead of stopping the run: the steps go on.
/// </summary>
internal sealed partial class StepRunner(StateStore store, EventLog events, string sourceId, string job, string phase, ICommandRunner commands, IdentityOptions options,
    HeldWrites? held = null)
{
    public async Task<RunOutcome> RunAsync(IReadOnlyList<IFailoverStep> plan, CancellationToken ct)
    {
        var journal = LoadJournal(plan);
        var failed = journal.Values.FirstOrDefault(s => s.Status == StepStatus.Failed);
        if (failed is not null)
        {
            events.Record(EventCode.StepUndoResumed, Severity.Warning, "failover", job, $"resuming the undo of an aborted {phase} (step '{failed.Name}' had failed: {failed.Detail})");
            await RevertAsync(plan, journal, ct);
            return RunOutcome.Aborted(failed.Detail ?? $"step '{failed.Name}' failed");
        }
        if (journal.Count > 0)
            events.Record(EventCode.StepsResumed, Severity.Info, "failover", job, $"resuming an interrupted {phase}: {journal.Values.Count(IsDone)} of {plan.Count} steps were done");
        int warnings = 0;
        // A step's end is written with the next step's start, in one commit (issue 21): it is durable before anything
        // that follows it runs, at one fsync instead of two.
        var ended = new List<StoredStep>();
        for (int i = 0; i < plan.Count; i++)
        {
            var step = plan[i];
            journal.TryGetValue(i, out var prior);
            if (prior is not null && IsDone(prior))
                continue;
            var record = new StoredStep(i, step.Name, StepStatus.Applying, prior?.Data, null);
            Save([.. ended, record]);
            ended.Clear();
            events.Record(EventCode.StepStarted, Severity.Info, "failover", job, $"{phase} step {i + 1}/{plan.Count}: {step.Name}");
            var end = await ApplyAsync(step, record, ct);
            journal[i] = end.Record;
            if (end.Error is StepFailedException { Abort: false } w)
            {
                warnings++;
                events.Record(EventCode.StepWarning, Severity.Warning, "failover", job, $"{phase} step '{step.Name}': {w.Message} (continuing)", w.EventData);
            }
            else if (end.Error is { } e)
            {
                // Any other failure of a step (a timeout, an unexpected OS answer) aborts as well: a half-taken identity is worse than none.
                events.Record(EventCode.StepAborted, Severity.Error, "failover", job, $"{phase} aborted at step '{step.Name}': {e.Message}", (e as StepFailedException)?.EventData);
                Save([.. ended, end.Record]);
                await RevertAsync(plan, journal, ct);
                return RunOutcome.Aborted(e.Message);
            }
            ended.Add(end.Record);
        }
        Save(ended);
        return RunOutcome.Done(warnings);
    }

    /// <summary>A step's end as the journal records it, and the failure if it failed (a warning or an abort).</summary>
    private sealed record StepEnd(StoredStep Record, Exception? Error);

    private async Task<StepEnd> ApplyAsync(IFailoverStep step, StoredStep record, CancellationToken ct)
    {
        var ctx = Context(record);
        try
        {
            await step.ApplyAsync(ctx, ct);
            return new StepEnd(record with { Status = StepStatus.Applied, Data = ctx.Data }, null);
        }
        catch (StepFailedException e) when (!e.Abort)
        {
            return new StepEnd(record with { Status = StepStatus.Warning, Data = ctx.Data, Detail = e.Message }, e);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new StepEnd(record with { Status = StepStatus.Failed, Data = ctx.Data, Detail = e.Message }, e);
        }
    }

    /// <summary>Reverts every step the journal shows as touched (applied, half-applied or failed), last first. For an abort and for fail-back.</summary>
    public async Task RevertAsync(IReadOnlyList<IFailoverStep> plan, CancellationToken ct) => await RevertAsync(plan, LoadJournal(plan), ct);

    private async Task RevertAsync(IReadOnlyList<IFailoverStep> plan, Dictionary<int, StoredStep> journal, CancellationToken ct)
    {
        for (int i = plan.Count - 1; i >= 0; i--)
        {
            if (!journal.TryGetValue(i, out var rec) || rec.Status == StepStatus.Reverted)
                continue;
            var ctx = Context(rec);
            try
            {
                await plan[i].RevertAsync(ctx, ct);
                events.Record(EventCode.StepUndone, Severity.Info, "failover", job, $"undid step '{plan[i].Name}'");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                events.Record(EventCode.StepUndoFailed, Severity.Error, "failover", job, $"could not undo step '{plan[i].Name}': {e.Message}");
            }
            // Reverted is recorded even after an error: undo is best effort and must not loop forever on restart.
            Save(rec with { Status = StepStatus.Reverted });
        }
    }

    private Dictionary<int, StoredStep> LoadJournal(IReadOnlyList<IFailoverStep> plan)
    {
        var journal = new Dictionary<int, StoredStep>();
        foreach (var s in Steps())
        {
            // A journal entry only counts for the same step at the same place: the plan is rebuilt from the stored spec.
            if (s.Index < plan.Count && plan[s.Index].Name == s.Name)
                journal[s.Index] = s;
        }
        return journal;
    }

    private IReadOnlyList<StoredStep> Steps() =>
        held is null ? store.ListSteps(sourceId, job, phase) : held.Overlay(phase, store.ListSteps(sourceId, job, phase));

    private void Save(IReadOnlyList<StoredStep> steps)
    {
        if (steps.Count == 0)
            return;
        if (held is null)
            store.SaveSteps(sourceId, job, phase, steps);
        else
            held.WriteSteps(phase, steps, () => store.SaveSteps(sourceId, job, phase, steps));
    }

    private void Save(StoredStep step)
    {
        if (held is null)
            store.SaveStep(sourceId, job, phase, step);
        else
            held.WriteStep(phase, step, () => store.SaveStep(sourceId, job, phase, step));
    }

    private static bool IsDone(StoredStep s) => s.Status is StepStatus.Applied or StepStatus.Warning;

    private StepContext Context(StoredStep record)
    {
        var ctx = new StepContext(job, commands, options,
            (code, severity, message, data) => events.Record(code, severity, "failover", job, message, data),
            data => Save(record with { Data = data }));
        ctx.LoadData(record.Data);
        return ctx;
    }
}
