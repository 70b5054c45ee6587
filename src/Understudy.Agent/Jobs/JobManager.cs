using System.Collections.Concurrent;
using Understudy.Agent.Common;
using Understudy.Agent.Events;
using Understudy.Agent.Replication.Capture;
using Understudy.Agent.Source;
using Understudy.Core.Jobs;
using Understudy.Core.Paths;

namespace Understudy.Agent.Jobs;

/// <summary>A request the API answers with 4xx: the caller's input is wrong, nothing was changed.</summary>
internal sealed class JobRequestException(string message, int status = 400, object? detail = null) : Exception(message)
{
    public int Status { get; } = status;

    public object? Detail { get; } = detail;
}

/// <summary>The jobs this agent is source of: applying, removing and running them.</summary>
/// <param name="watchers">How every job's capture watches its roots (the agent's, read once at start); null: the defaults.</param>
internal sealed class JobManager(AgentContext ctx, WatcherOptions? watchers = null) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, (JobSpec Spec, string Yaml, JobRunner Runner)> _jobs = new();

    // One change of a job's runner at a time (apply, remove, stop, start): each disposes a runner and makes the next.
    private readonly SemaphoreSlim _gate = new(1, 1);

    private sealed record StoppedMark(string Since);

    private static string StoppedKey(string job) => "stopped/" + job;

    private DateTimeOffset? StoppedSince(string job) =>
        ctx.Store.GetValue(StoppedKey(job)) is { } json && System.Text.Json.JsonSerializer.Deserialize<StoppedMark>(json) is { } m
            ? DateTimeOffset.Parse(m.Since, System.Globalization.CultureInfo.InvariantCulture) : null;

    public void LoadStored()
    {
        foreach (var stored in ctx.Store.ListJobs())
        {
            try
            {
                var spec = JobFile.Parse(stored.Yaml, $"job {stored.Name}");
                bool mirrored = stored.Runtime?.Contains("\"mirrored\":true", StringComparison.Ordinal) == true;
                bool paused = stored.Runtime?.Contains("\"paused\":true", StringComparison.Ordinal) == true;
                _jobs[spec.Name] = (spec, stored.Yaml, Launch(spec, mirrored, paused, StoppedSince(spec.Name)));
            }
            catch (JobFileException e)
            {
                ctx.Events.Record(EventCode.JobStoredInvalid, Severity.Error, "job", stored.Name, $"stored job no longer parses: {e.Message}");
            }
        }
    }

    /// <summary>A runner for a stored job as the agent starts it: the first mirror if it never completed, else a
    /// difference scan for what changed while nothing captured. A stopped job only shows its state.</summary>
    private JobRunner Launch(JobSpec spec, bool mirrored, bool paused, DateTimeOffset? stoppedSince,
        string why = "startup difference scan (changes made while the agent was not running)")
    {
        var runner = new JobRunner(ToDefinition(spec), spec.Replication, ctx, mirrored, paused, stoppedSince, spec.Verify.Schedule, watchers);
        if (stoppedSince is not null)
            return runner;
        if (!mirrored)
            runner.RequestMirror(spec.Mirror.Mode);
        else if (spec.Replication.Enabled && spec.Replication.Consistency == Consistency.File)
            runner.RequestMirror(MirrorMode.Different, why, catchUp: true); // write-order resumes from the point the target holds

        return runner;
    }

    public IReadOnlyCollection<JobRunner> Runners => [.. _jobs.Values.Select(j => j.Runner)];

    public JobRunner Get(string name) => Entry(name).Runner;

    public (JobSpec Spec, string Yaml) GetSpec(string name)
    {
        var j = Entry(name);
        return (j.Spec, j.Yaml);
    }

    /// <summary>The job's spec, or null when there is no such job (a loop over <see cref="Runners"/> whose job was removed meanwhile).</summary>
    public JobSpec? FindSpec(string name) => _jobs.TryGetValue(name, out var j) ? j.Spec : null;

    private (JobSpec Spec, string Yaml, JobRunner Runner) Entry(string name) =>
        _jobs.TryGetValue(name, out var j) ? j : throw NoSuchJob(name);

    private static JobRequestException NoSuchJob(string name) => new($"no job named '{name}' on this agent", 404);

    /// <summary>Parses, checks and stores a job, then starts its initial mirror.</summary>
    public async Task<JobSpec> ApplyAsync(string yaml, string fileName)
    {
        JobSpec spec;
        try
        {
            spec = JobFile.Parse(yaml, fileName);
        }
        catch (JobFileException e)
        {
            throw new JobRequestException(e.Message, 400, new { file = e.FileName, line = e.Line, column = e.Column, key = e.KeyPath });
        }
        foreach (var p in spec.Source.Paths)
        {
            if (!Directory.Exists(p))
                throw new JobRequestException($"{fileName}: key 'source.paths': {p} is not a directory on this agent");
        }
        if (spec.Replication.Consistency == Consistency.WriteOrder)
        {
            // Refused here rather than degraded later: a path the mode cannot serve would otherwise replicate with no consistency at all.
            try
            {
                Core.WriteOrder.Source.PointSubvolume.CheckWhole(spec.Source.Paths[0]);
            }
            catch (Core.WriteOrder.Source.WriteOrderUnsupportedException e)
            {
                throw new JobRequestException($"{fileName}: key 'replication.consistency': {e.Message}", 400, new { file = fileName, key = "replication.consistency" });
            }
        }
        var def = ToDefinition(spec);
        await _gate.WaitAsync();
        try
        {
            if (_jobs.TryGetValue(spec.Name, out var old))
            {
                await old.Runner.DisposeAsync();
                _jobs.TryRemove(spec.Name, out _);
            }
            ctx.Store.SaveJob(spec.Name, yaml);
            // Applying runs the job: a stopped job starts with its new file.
            ctx.Store.SetValue(StoppedKey(spec.Name), "null");
            JobRunner runner;
            if (old.Runner is not null && def.JobJson == ToDefinition(old.Spec).JobJson)
            {
                // The same job again (a deployment that applies every time): restarted as `start` does, so the
                // file's settings replace `job set` ones and an error is retried, keeping what the job had.
                ctx.Events.Record(EventCode.JobReappliedUnchanged, Severity.Info, "job", spec.Name, "job re-applied unchanged: restarted with the same settings");
                runner = Launch(spec, old.Runner.Mirrored, old.Runner.Paused, stoppedSince: null, "catch-up after the job was re-applied");
                runner.KeepHistoryOf(old.Runner);
            }
            else
            {
                ctx.Events.Record(old.Runner is null ? EventCode.JobApplied : EventCode.JobReappliedChanged, Severity.Info, "job", spec.Name, old.Runner is null ? "job applied" : "job re-applied with changes");
                runner = new JobRunner(def, spec.Replication, ctx, mirrored: false, verifySchedule: spec.Verify.Schedule, watchers: watchers);
                runner.RequestMirror(spec.Mirror.Mode);
            }
            _jobs[spec.Name] = (spec, yaml, runner);
            return spec;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// `understudy stop NAME`: ends the job's mirror, replication and change capture (its session closes) and keeps
    /// its queue and state; it stays stopped across agent restarts until <see cref="StartAsync"/>.
    /// </summary>
    public async Task<JobRunner> StopAsync(string name)
    {
        await _gate.WaitAsync();
        try
        {
            var (spec, yaml, old) = Entry(name);
            if (old.Stopped)
                return old;
            await old.DisposeAsync();
            var since = ctx.Time.GetUtcNow();
            ctx.Store.SetValue(StoppedKey(name), System.Text.Json.JsonSerializer.Serialize(new StoppedMark(since.ToString("O"))));
            var runner = Launch(spec, old.Mirrored, old.Paused, since);
            runner.KeepHistoryOf(old);
            _jobs[name] = (spec, yaml, runner);
            var pending = runner.ReplicationStatus(since).OpsPending;
            ctx.Events.Record(EventCode.JobStopped, Severity.Info, "job", name,
                $"stopped by user: no mirror, replication or change capture until 'understudy start {name}'"
                + (pending > 0 ? $"; {pending} changes stay queued" : "") + "; the target keeps its copy");
            return runner;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>`understudy start NAME`: runs a stopped job again, as the agent starts a stored job (a difference
    /// mirror finds what changed while it was stopped). A job that is not stopped is left as it is.</summary>
    public async Task<JobRunner> StartAsync(string name)
    {
        await _gate.WaitAsync();
        try
        {
            var (spec, yaml, old) = Entry(name);
            if (!old.Stopped)
                return old;
            await old.DisposeAsync();
            ctx.Store.SetValue(StoppedKey(name), "null");
            ctx.Events.Record(EventCode.JobStarted, Severity.Info, "job", name, old.Mirrored
                ? "started by user: a difference mirror catches up with what changed while it was stopped"
                : "started by user: the first mirror starts");
            var runner = Launch(spec, old.Mirrored, old.Paused, stoppedSince: null, "catch-up after a stop (changes made while the job was stopped)");
            runner.KeepHistoryOf(old);
            _jobs[name] = (spec, yaml, runner);
            return runner;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops and forgets a job. Never deletes data on either side.</summary>
    public async Task RemoveAsync(string name)
    {
        await _gate.WaitAsync();
        (JobSpec Spec, string Yaml, JobRunner Runner) j;
        try
        {
            if (!_jobs.TryRemove(name, out j))
                throw NoSuchJob(name);
            await j.Runner.DisposeAsync();
        }
        finally
        {
            _gate.Release();
        }
        ctx.Store.RemoveJob(name);
        ctx.Store.SetValue(StoppedKey(name), "null");
        ctx.Store.SetValue(JobRunner.VerifyAtKey(name), "null");
        Failover.TargetContact.Forget(ctx, name);
        var queue = Path.Combine(ctx.DataDir, "queues", name);
        if (Directory.Exists(queue))
            Directory.Delete(queue, recursive: true);
        ctx.Events.Record(EventCode.JobRemoved, Severity.Info, "job", name, "job removed (data on source and target left in place)");
    }

    public static JobDefinition ToDefinition(JobSpec spec)
    {
        var roots = spec.Source.Paths
            .Select(p => new SourceRoot(p, spec.Source.Paths.Count == 1 ? RelPath.Root : RelPath.Parse(Path.GetFileName(p.TrimEnd('/')))))
            .ToList();
        var matcher = new ExcludeMatcher(spec.Source.Exclude);
        return new JobDefinition(spec.Name, roots, (p, dir) => matcher.IsExcluded(p, dir),
            spec.Target.Address.ToString(), spec.Target.Id, spec.Target.Path, spec.Mirror.Mode, spec.Mirror.Orphans == OrphanPolicy.Delete,
            JobSpecJson.Serialize(spec));
    }

    /// <summary>The job's witness hold for status (set by AgentHost; Jobs does not know the witness's types).</summary>
    public Func<string, WitnessView?> WitnessStatus { get; set; } = _ => null;

    public JobStatusView Status(JobRunner r)
    {
        var (spec, _, _) = _jobs[r.Job.Name];
        long changes = r.Changes; // before the rest: a change made meanwhile shows as a count this status is not of
        var now = ctx.Time.GetUtcNow();
        var p = r.Progress;
        ProgressView? pv = p is null ? null : new ProgressView(p.Mode.ToString().ToLowerInvariant(), p.Phase, p.FilesDone, p.FilesTotal,
            p.BytesDone, p.BytesTotal, p.BytesSent, Math.Round(p.RateBytesPerSecond(now)), p.EtaSeconds(now) is { } eta ? Math.Round(eta, 1) : null,
            p.StartedAt.ToString("O"), p.FinishedAt?.ToString("O"), p.Skipped, p.OrphansKept, p.OrphansDeleted);
        return new JobStatusView(r.Job.Name, "source", r.State, r.Reason, spec.Target.Address.ToString(), spec.Target.Path,
            spec.Source.Paths, pv, r.Mirrored, r.LastMirrorAt?.ToString("O"), r.LastVerify, r.ReplicationStatus(now), r.IsIdle, changes,
            r.Job.Unprotected.View(20), JobEnum<Consistency>.Name(spec.Replication.Consistency), r.WriteOrderStatus(now), WitnessStatus(r.Job.Name));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var j in _jobs.Values)
            await j.Runner.DisposeAsync();
        _jobs.Clear();
        _gate.Dispose();
    }
}
