using System.Collections.Concurrent;
using System.Text.Json;
using Understudy.Agent.Events;
using Understudy.Agent.Jobs;
using Understudy.Agent.Target;
using Understudy.Core.Jobs;
using Understudy.Core.Protocol.Control;

namespace Understudy.Agent.Failover;

/// <summary>
/// The fail-over engines of every hosted job that has a <c>failover</c> section. The spec arrives with
/// each job registration (OpenJob) and is kept in the state store, so monitoring runs while the source
/// is down and across restarts of this agent; a take-over interrupted by a restart resumes in <see cref="Start"/>.
/// </summary>
internal sealed class FailoverManager(FailoverServices services) : ITargetFailoverHooks, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, FailoverEngine> _engines = new();
    private readonly Lock _lock = new();

    private static string Key(string sourceId, string job) => sourceId + "/" + job;

    public IReadOnlyCollection<FailoverEngine> Engines => [.. _engines.Values.OrderBy(e => e.Job, StringComparer.Ordinal)];

    public void Start()
    {
        var hosted = services.Store.ListHosted();
        foreach (var row in services.Store.ListFailover())
        {
            JobSpec spec;
            try
            {
                spec = JobSpecJson.Deserialize(row.SpecJson);
            }
            catch (JsonException e)
            {
                services.Events.Record(EventCode.FailoverSettingsInvalid, Severity.Error, "failover", row.Job, $"stored fail-over settings no longer parse: {e.Message}");
                continue;
            }
            if (spec.Failover is null)
                continue;
            var sourceName = hosted.FirstOrDefault(h => h.SourceId == row.SourceId && h.Job == row.Job)?.SourceName ?? row.SourceId[..Math.Min(12, row.SourceId.Length)];
            var state = FailoverStates.Parse(row.State);
            if (state.IsMonitored())
            {
                // A plan stored by an older agent was never held to today's rules (scripts directory, option allow-lists):
                // it is not armed until the source sends one that is. One that holds the identity stays, for fail-back.
                try
                {
                    spec.Validate();
                }
                catch (JobFileException e)
                {
                    services.Events.Record(EventCode.FailoverSettingsRejected, Severity.Error, "failover", row.Job,
                        $"the stored fail-over plan is refused by this agent's rules and not monitored: {e.Message}; the source's next registration with a valid plan arms it");
                    continue;
                }
            }
            var engine = new FailoverEngine(services, row.SourceId, sourceName, spec, state, row.Reason, row.Dismissed, row.Approval)
            {
                LastSourceReport = row.InFlight is null ? null : JsonSerializer.Deserialize<SourceQueueReport>(row.InFlight),
            };
            _engines[Key(row.SourceId, row.Job)] = engine;
            engine.Start();
        }
    }

    /// <summary>Why the target refuses the source's OpenJob: the job holds (or is taking) the source's identity. Null = accept.</summary>
    public string? RefusalFor(string sourceId, string job) =>
        _engines.TryGetValue(Key(sourceId, job), out var e) && e.State.HoldsIdentity()
            ? $"job '{job}' was failed over to this target ({e.State.Name()}: {e.Reason}); the source must stay passive until fail-back"
            : null;

    /// <summary>A source registered (or re-registered) the job: keep its fail-over settings, (re)start monitoring.</summary>
    public async Task OnRegisteredAsync(string sourceId, string sourceName, string job, string jobJson)
    {
        if (jobJson.Length == 0)
            return; // an older source that does not send its job: nothing known about fail-over
        JobSpec spec;
        try
        {
            spec = JobSpecJson.Deserialize(jobJson);
            spec.Validate();
        }
        catch (Exception e) when (e is JsonException or JobFileException)
        {
            services.Events.Record(EventCode.FailoverSettingsRejected, Severity.Error, "failover", job, $"the source sent fail-over settings this agent cannot use: {e.Message}");
            return;
        }
        FailoverEngine? old;
        lock (_lock)
        {
            _engines.TryGetValue(Key(sourceId, job), out old);
            if (old is not null && !old.State.IsMonitored())
                return; // never swap settings under a fail-over; OpenJob is refused then anyway
            if (old is not null && JobSpecJson.Serialize(old.Spec) == JobSpecJson.Serialize(spec) && old.SourceName == sourceName)
                return;
            _engines.TryRemove(Key(sourceId, job), out _);
        }
        if (old is not null)
            await old.DisposeAsync();
        if (spec.Failover is null)
        {
            if (old is not null)
            {
                services.Store.RemoveFailover(sourceId, job);
                services.Events.Record(EventCode.MonitoringStopped, Severity.Info, "failover", job, "the job no longer has fail-over settings: monitoring stopped");
            }
            return;
        }
        services.Store.SaveFailoverSpec(sourceId, job, JobSpecJson.Serialize(spec), FailoverState.Protecting.Name());
        // The approval stays with the row: it still counts when the digest is the same (a change elsewhere in the job).
        var approval = old?.Approval ?? services.Store.ListFailover().FirstOrDefault(r => r.SourceId == sourceId && r.Job == job)?.Approval;
        var engine = new FailoverEngine(services, sourceId, sourceName, spec, old?.State ?? FailoverState.Protecting, old?.Reason, old?.Dismissed ?? false, approval)
        {
            LastSourceReport = old?.LastSourceReport,
        };
        _engines[Key(sourceId, job)] = engine;
        var m = spec.Failover.Monitor;
        services.Events.Record(EventCode.MonitoringStarted, Severity.Info, "failover", job,
            $"{(old is null ? "monitoring" : "new fail-over settings; monitoring")} {string.Join(", ", m.Addresses.Select(a => a.Address))} of {sourceName} every "
            + $"{m.Interval.TotalSeconds:0.###} s, {m.Misses} misses, policy {JobEnum<MonitorPolicy>.Name(m.Policy)}, trigger {JobEnum<FailoverTrigger>.Name(spec.Failover.Trigger)}"
            + (engine.Approved ? "" : " (the plan awaits this target's approval: nothing runs until then)"));
        engine.AnnounceIfUnapproved(changedSpec: old is null || old.PlanDigest != engine.PlanDigest);
        engine.Start();
    }

    /// <summary>
    /// Trust in <paramref name="sourceId"/> was removed: its monitored plans are stopped and deleted from the store, so
    /// nothing starts a take-over for it (now or after a restart). A plan that holds or is taking the source's identity
    /// is kept (disarming it would strand the addresses; the operator fails back or dismisses). Adds a line per job to
    /// <paramref name="report"/>; returns the jobs kept.
    /// </summary>
    public async Task<IReadOnlySet<string>> DisarmAsync(string sourceId, List<string> report)
    {
        var kept = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in _engines.Values.Where(e => e.SourceId == sourceId).ToList())
        {
            if (!e.State.IsMonitored())
            {
                kept.Add(e.Job);
                report.Add($"job '{e.Job}': fail-over plan kept, it is {e.State.Name()} (fail back or dismiss it, then run trust remove again)");
                continue;
            }
            lock (_lock)
                _engines.TryRemove(Key(sourceId, e.Job), out _);
            await e.DisposeAsync();
            services.Store.RemoveFailover(sourceId, e.Job);
            services.Events.Record(EventCode.MonitoringStopped, Severity.Warning, "failover", e.Job, $"fail-over plan of job '{e.Job}' from {e.SourceName} disarmed: its trust was removed");
            report.Add($"job '{e.Job}': fail-over plan disarmed");
        }
        // A stored plan whose engine never started (its settings no longer parse) is removed too.
        foreach (var row in services.Store.ListFailover().Where(r => r.SourceId == sourceId && !kept.Contains(r.Job) && !_engines.ContainsKey(Key(sourceId, r.Job))))
            services.Store.RemoveFailover(sourceId, row.Job);
        return kept;
    }

    /// <summary>The source's last word on what it has queued and not acknowledged (ControlRequest "source-status").</summary>
    public void OnSourceStatus(string sourceId, string job, SourceStatusReport s)
    {
        if (!_engines.TryGetValue(Key(sourceId, job), out var e))
            return;
        var r = new SourceQueueReport(s.Ops, s.Bytes, s.OldestAgeSeconds, services.Time.GetUtcNow().ToString("O"), s.RemirrorRequired,
            s.MirrorPending, s.OldestPendingAt);
        e.LastSourceReport = r;
        services.Store.SaveFailoverInFlight(sourceId, job, JsonSerializer.Serialize(r));
    }

    /// <summary>
    /// A hosted job by NAME, or by SOURCE/NAME (SOURCE: the source agent's name or ID) when two trusted sources use the
    /// same job name: without it one source's name choice would lock the target's operator out of the other's job.
    /// Job names never contain '/', so the last one separates; a '/' the route left encoded (%2F) counts as one.
    /// </summary>
    /// <exception cref="JobRequestException">404: no hosted job of that name has fail-over settings; 409: several, naming each SOURCE/NAME.</exception>
    public FailoverEngine Get(string job)
    {
        job = job.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
        var slash = job.LastIndexOf('/');
        var (source, name) = slash < 0 ? (null, job) : (job[..slash], job[(slash + 1)..]);
        var matches = _engines.Values.Where(e => e.Job == name && (source is null || e.SourceName == source
            || string.Equals(e.SourceId, source.Replace(":", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase))).ToList();
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new JobRequestException($"no hosted job named '{job}' with fail-over settings on this agent (run this on the target agent)", 404),
            _ => throw new JobRequestException($"several sources have a job named '{job}' on this agent: name one as "
                + string.Join(" or ", matches.OrderBy(e => e.SourceName, StringComparer.Ordinal).Select(e => $"'{Qualified(e, matches)}'")), 409),
        };
    }

    /// <summary>SOURCE/NAME by the source's name, or by its ID when two of the sources share a name too.</summary>
    private static string Qualified(FailoverEngine e, List<FailoverEngine> among) =>
        $"{(among.Count(o => o.SourceName == e.SourceName) > 1 ? e.SourceId : e.SourceName)}/{e.Job}";

    public async ValueTask DisposeAsync()
    {
        foreach (var e in _engines.Values)
            await e.DisposeAsync();
        _engines.Clear();
    }
}
