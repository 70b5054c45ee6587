using Understudy.Agent.Events;
using Understudy.Agent.Source;

namespace Understudy.Agent.Jobs;

/// <summary>
/// <c>verify.schedule</c>: a verify (metadata, xattrs, links and holes; no content hashes, no repair) of the job, due
/// one period after the last verify of any kind ended — a verify asked for meanwhile moves the next one, and one that
/// takes longer than the period is never followed at once by another. It goes through the command loop like
/// `understudy verify`, so it never runs beside a mirror, a replication batch or another verify. It waits for the job
/// to be idle (every captured change applied on the target: a verify in the middle of a backlog reports changes in
/// flight as differences); a job that does not come to rest within <see cref="MaxWaitForIdle"/> of the due time is
/// verified anyway as soon as no mirror runs or waits and the target is connected, and the event says how many
/// changes were still queued.
/// </summary>
internal sealed partial class JobRunner
{
    /// <summary>How long a due verify waits for the job to be idle before it runs beside queued changes.</summary>
    private static readonly TimeSpan MaxWaitForIdle = TimeSpan.FromMinutes(10);

    /// <summary>How often a due verify looks whether the job is idle yet.</summary>
    private static readonly TimeSpan IdleRecheck = TimeSpan.FromSeconds(1);

    private Task _verifySchedule = Task.CompletedTask;

    /// <summary>The period of <c>verify.schedule</c>; the agent's <see cref="AgentSettings.VerifySchedule"/> replaces it (a
    /// test knob: the job file's minimum is one minute).</summary>
    private TimeSpan? SchedulePeriod(TimeSpan? schedule) => schedule is null ? null : _ctx.Settings.VerifySchedule ?? schedule;

    /// <summary>The state store's key for when the job's last verify ended (removed with the job).</summary>
    internal static string VerifyAtKey(string job) => "verify-at/" + job;

    /// <summary>When the last verify of this job ended (or a scheduled one failed to run), kept across agent restarts so
    /// a daily verify still runs on an agent restarted more often than daily.</summary>
    private DateTimeOffset? LastVerifyEnded()
    {
        var stored = _ctx.Store.GetValue(VerifyAtKey(Job.Name)) is { } s && DateTimeOffset.TryParse(s, System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.RoundtripKind, out var at) ? at : (DateTimeOffset?)null;
        return LastVerify?.At is { } mine && (stored is null || mine > stored) ? mine : stored;
    }

    /// <summary><see cref="LastVerifyEnded"/> for GET /metrics: known across restarts, unlike <see cref="LastVerify"/>.</summary>
    public DateTimeOffset? LastVerifyAt => LastVerifyEnded();

    private void NoteVerifyEnded(DateTimeOffset at) => _ctx.Store.SetValue(VerifyAtKey(Job.Name), at.ToString("O"));

    private async Task ScheduleVerifiesAsync(TimeSpan period, CancellationToken ct)
    {
        await Task.Yield();
        var since = _ctx.Time.GetUtcNow();
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var due = (LastVerifyEnded() ?? since) + period;
                var now = _ctx.Time.GetUtcNow();
                if (now < due)
                {
                    // Woken at the due time, then the last verify is read again: one asked for meanwhile moves it.
                    await Task.Delay(due - now, _ctx.Time, ct);
                    continue;
                }
                if (!IsIdle && !(now - due >= MaxWaitForIdle && Mirrored && Volatile.Read(ref _mirrorsQueued) == 0
                    && State is JobState.Replicating or JobState.InSync))
                {
                    await Task.Delay(IdleRecheck, _ctx.Time, ct);
                    continue;
                }
                long queued = _pipeline is null ? 0 : _pipeline.Log.Stats.PendingCount + _pipeline.PendingEvents;
                var done = new TaskCompletionSource<VerifyReport>(TaskCreationOptions.RunContinuationsAsynchronously);
                _commands.Writer.TryWrite(new VerifyCommand(false, false, done, Scheduled: true, QueuedWhenStarted: queued));
                _wake.Pulse();
                try
                {
                    await done.Task.WaitAsync(ct);
                }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    // The job failed or went passive: the runner reports that itself. The next attempt waits a period.
                    _ctx.Events.Record(EventCode.VerifyScheduledFailed, Severity.Warning, "verify", Job.Name, $"scheduled verify did not run: {e.Message}");
                    NoteVerifyEnded(_ctx.Time.GetUtcNow());
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>The event of a verify: identical, or how many differences of each kind.</summary>
    private void RecordVerify(VerifyReport report, VerifyCommand v)
    {
        var kinds = report.Differences.GroupBy(d => d.Kind).ToDictionary(g => g.Key, g => g.Count());
        string text = report.Identical
            ? $"{(v.Scheduled ? "scheduled verify: " : "verified: ")}identical ({report.EntriesChecked} entries{(report.Checksum ? ", by content" : "")})"
            : $"{(v.Scheduled ? "scheduled verify" : "verify")} found {report.Differences.Count} differences ({string.Join(", ", kinds.Select(k => $"{k.Value} {k.Key}"))})";
        if (v.QueuedWhenStarted > 0)
            text += $"; run while {v.QueuedWhenStarted} changes were queued (the job was not idle for {MaxWaitForIdle.TotalMinutes:0} minutes): some may be changes in flight";
        _ctx.Events.Record(report.Identical ? EventCode.VerifyIdentical : EventCode.VerifyDifferences, report.Identical ? Severity.Info : Severity.Warning, "verify", Job.Name, text,
            new { count = report.Differences.Count, scheduled = v.Scheduled, kinds });
    }
}
