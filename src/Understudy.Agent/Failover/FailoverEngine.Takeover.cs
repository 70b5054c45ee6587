using System.Diagnostics;
using System.Globalization;
using Understudy.Agent.Events;
using Understudy.Agent.Identity;
using Understudy.Agent.Jobs;

namespace Understudy.Agent.Failover;

internal sealed partial class FailoverEngine
{
    public IReadOnlyList<IFailoverStep> BuildPlan(bool force) =>
        TakeoverPlan.Build(Spec, SourceId, SourceName, _s.Options, _s.Replication, () => LastSourceReport, _s.Time, force, _s.DuplicateProbe, _early);

    /// <summary>
    /// An operator's `understudy failover NAME [--dismiss] [--force]`. A fail-over runs to its end
    /// (the caller's cancellation only stops waiting, never the take-over).
    /// </summary>
    /// <exception cref="JobRequestException">409: refused in this state.</exception>
    public async Task<RunOutcome?> CommandAsync(OperatorCommand command, bool force, CancellationToken ct)
    {
        Task<RunOutcome>? run;
        if (command == OperatorCommand.FailOver)
        {
            lock (_lock)
            {
                if (NotApprovedReason() is { } notApproved)
                    throw new JobRequestException($"job '{Job}': {notApproved}", 409);
                if (FailoverDecider.Command(State, command, Dismissed) is (null, { } no))
                    throw new JobRequestException($"job '{Job}': {no}", 409);
            }
            await ClaimForOperatorAsync(force, ct);
        }
        lock (_lock)
        {
            if (command == OperatorCommand.FailOver && NotApprovedReason() is { } refused)
                throw new JobRequestException($"job '{Job}': {refused}", 409);
            var (decision, refusal) = FailoverDecider.Command(State, command, Dismissed);
            if (decision is null)
                throw new JobRequestException($"job '{Job}': {refusal}", 409);
            Apply(decision, force);
            run = command == OperatorCommand.FailOver ? _takeover : null;
        }
        return run is null ? null : await run.WaitAsync(ct);
    }

    /// <summary>The running take-over, if any (tests wait on it).</summary>
    public Task<RunOutcome>? Takeover
    {
        get
        {
            lock (_lock)
                return _takeover;
        }
    }

    private async Task<RunOutcome> RunTakeoverAsync(bool force, CancellationToken ct)
    {
        // Off the caller's stack (which holds the lock): the take-over is long and takes the lock itself.
        await Task.Yield();
        long started = Stopwatch.GetTimestamp();
        RunOutcome outcome;
        try
        {
            var plan = BuildPlan(force);
            outcome = await new StepRunner(_s.Store, _s.Events, SourceId, Job, Phase, _s.Commands, _s.Options, _held).RunAsync(plan, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Agent shutdown: the journal lets the next start finish the take-over.
            return RunOutcome.Aborted("the agent stopped during the fail-over; it resumes on the next start");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            outcome = RunOutcome.Aborted(e.Message);
            _s.Events.Record(EventCode.FailoverFailed, Severity.Error, "failover", Job, $"fail-over failed: {e.Message}");
        }
        var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        lock (_lock)
        {
            if (outcome.Completed)
            {
                _s.Events.Record(EventCode.FailoverCompleted, Severity.Info, "failover", Job,
                    $"failed over: this agent now holds the identity of {SourceName} ({ms:0} ms{(outcome.Warnings > 0 ? $", {outcome.Warnings} warnings" : "")})",
                    new { takeoverMs = Math.Round(ms), warnings = outcome.Warnings });
                SetState(FailoverState.FailedOver, $"failed over at {_s.Time.GetUtcNow():O}", dismissed: false);
                // Clients may change the replica from the take-over's start on: the restore sends whatever changed since
                // (by ctime), also what keeps size and mtime (RestoreLink).
                var since = _s.Time.GetUtcNow() - Stopwatch.GetElapsedTime(started) - DateTimeOffset.UnixEpoch;
                var key = Restore.RestoreRun.FailedOverAtKey(SourceId, Job);
                _held.Write(key, () => _s.Store.SetValue(key, (since.Ticks * 100).ToString(CultureInfo.InvariantCulture)));
            }
            else
            {
                _s.Events.Record(EventCode.FailoverAborted, Severity.Error, "failover", Job,
                    $"fail-over aborted and undone: {outcome.AbortReason}; the job is fail-over-pending: it waits for an operator ('understudy failover {Job}' to retry, "
                    + "'--dismiss' to stand down), or goes back to protecting by itself once every watched address answers");
                SetState(FailoverState.Pending, $"fail-over aborted: {outcome.AbortReason}", dismissed: false);
            }
        }
        // Undone: the source may take its key (and identity) back.
        if (!outcome.Completed)
            ReleaseClaim("the fail-over was aborted and undone");
        return outcome;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _monitor;
        await _early.DisposeAsync();
        Task staging;
        lock (_lock)
            staging = _staging;
        await staging;
        await _releases;
        Task<RunOutcome>? t;
        lock (_lock)
            t = _takeover;
        if (t is not null)
            await t;
        await DisposeFailbackAsync();
        _stop.Dispose();
    }
}
