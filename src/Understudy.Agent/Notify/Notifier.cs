using Understudy.Agent.Events;
using Understudy.Core.Api;
using Understudy.Core.Jobs;

namespace Understudy.Agent.Notify;

/// <summary>What every destination's worker shares.</summary>
internal sealed record NotifierCore(EventLog Events, TimeProvider Time, AgentName Agent, WebhookSender Webhooks);

/// <summary>A hosted job's fail-over that waits for an operator (state fail-over-pending), as the host reads it.</summary>
internal sealed record PendingFailover(string Job, string SourceName, string? Reason);

/// <summary>
/// Notifications (docs/monitoring.md): follows the event log live, sends each event that a rule matches to the rule's
/// destinations (one <see cref="DestinationWorker"/> each), and announces a fail-over that waits for an operator again
/// every <see cref="NotifySettings.PendingRepeat"/> until it is answered (Notifier.Pending.cs). Deliveries and
/// failures are events themselves (category <c>notify</c>, codes 8xx), and those events are never notified: a failing
/// destination cannot feed itself; watch <c>understudy_notify_failures_total</c> instead.
/// </summary>
/// <param name="filePath">The notify file; absent: nothing is sent until a reload finds it.</param>
/// <param name="pending">The fail-overs pending now (from the fail-over engines; a function, so this part needs none of them).</param>
internal sealed partial class Notifier(EventLog events, TimeProvider time, AgentName agent, string version, string filePath,
    Func<IReadOnlyList<PendingFailover>> pending) : IAsyncDisposable
{
    private readonly NotifierCore _core = new(events, time, agent, new WebhookSender($"understudy/{version}"));
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly Dictionary<string, DestinationWorker> _workers = new(StringComparer.Ordinal);
    private readonly List<DestinationWorker> _retired = [];
    private NotifySettings _settings = NotifySettings.None;
    private Task _loop = Task.CompletedTask;
    private Task _reminders = Task.CompletedTask;
    private string? _loadError;

    public string FilePath => filePath;

    public NotifySettings Settings => Volatile.Read(ref _settings);

    /// <summary>Why the file was not used at start (it stays unused until a reload succeeds); null when it was.</summary>
    public string? LoadError => _loadError;

    /// <summary>False once the event loop or the reminder loop has ended while the notifier runs (/metrics shows it).</summary>
    public bool Running => !_loop.IsCompleted && !_reminders.IsCompleted;

    /// <summary>Reads the file (a broken one is an event, not a failed start: replication must not stop for it) and
    /// starts following the event log.</summary>
    public void Start()
    {
        if (File.Exists(filePath))
        {
            try
            {
                Apply(NotifyFile.Load(filePath));
            }
            catch (Exception e) when (e is JobFileException or IOException or UnauthorizedAccessException)
            {
                _loadError = e.Message;
                events.Record(EventCode.NotifyConfigInvalid, Severity.Error, "notify", null,
                    $"notifications are off: the notify file is not usable: {e.Message} (fix it, then 'understudy notify reload')");
            }
        }
        var sub = events.Subscribe();
        _loop = FollowAsync(sub, _stop.Token);
        _reminders = RemindAsync(_stop.Token);
    }

    /// <summary>Reads the file again; throws (and keeps the rules in force) when it is not usable.</summary>
    public NotifySettings Reload()
    {
        var settings = File.Exists(filePath) ? NotifyFile.Load(filePath) : NotifySettings.None;
        Apply(settings);
        _loadError = null;
        return settings;
    }

    private void Apply(NotifySettings settings)
    {
        lock (_lock)
        {
            foreach (var name in _workers.Keys.Where(n => settings.Destinations.All(d => d.Name != n)).ToList())
            {
                // A removed destination still delivers what it had queued; awaited at dispose.
                _workers[name].Complete();
                _retired.Add(_workers[name]);
                _workers.Remove(name);
            }
            foreach (var d in settings.Destinations)
            {
                if (_workers.TryGetValue(d.Name, out var w))
                    w.Destination = d;
                else
                    _workers[d.Name] = new DestinationWorker(_core, d);
            }
            Volatile.Write(ref _settings, settings);
        }
        events.Record(EventCode.NotifyConfigLoaded, Severity.Info, "notify", null,
            $"notifications: {settings.Destinations.Count} destination(s), {settings.Rules.Count} rule(s) from {filePath}",
            new { destinations = settings.Destinations.Select(d => d.Name).ToArray(), rules = settings.Rules.Count });
    }

    private async Task FollowAsync(EventLog.Subscription sub, CancellationToken ct)
    {
        using (sub)
        {
            try
            {
                await foreach (var ev in sub.Reader.ReadAllAsync(ct))
                {
                    if (ev.Category == "notify")
                        continue;
                    if (ev.Code == EventCode.FailoverPending && ev.Job is { } job)
                        MarkAnnounced(job);
                    Send(new NotifyEvent(NotifyEvent.KindEvent, ev.ToApi()));
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }
        }
    }

    private void Send(NotifyEvent e)
    {
        var settings = Settings;
        foreach (var d in settings.DestinationsFor(e))
        {
            lock (_lock)
            {
                if (_workers.TryGetValue(d.Name, out var w))
                    w.Enqueue(e);
            }
        }
    }

    /// <summary>Each destination's counters (GET /metrics, GET /notify).</summary>
    public IReadOnlyList<(string Name, string Kind, string Target, long Delivered, long Failed, int Queued)> Stats()
    {
        lock (_lock)
            return [.. Settings.Destinations.Where(d => _workers.ContainsKey(d.Name))
                .Select(d => (d.Name, d.Kind, d.Describe, _workers[d.Name].Delivered, _workers[d.Name].Failed, _workers[d.Name].Queued))];
    }

    /// <summary><c>understudy notify test</c>: a test event (805) sent once, without retries, to every destination (or the
    /// one named), whatever the rules say; the outcome of each, which is an event as well.</summary>
    public async Task<IReadOnlyList<NotifyTestResult>> TestAsync(string? destination, CancellationToken ct)
    {
        List<DestinationWorker> targets;
        lock (_lock)
            targets = [.. _workers.Values.Where(w => destination is null || w.Destination.Name == destination)];
        var ev = events.Record(EventCode.NotifyTest, Severity.Info, "notify", null,
            $"test notification to {(destination is null ? $"every destination ({targets.Count})" : destination)}, asked for by an operator");
        var e = new NotifyEvent(NotifyEvent.KindTest, ev.ToApi());
        var results = await Task.WhenAll(targets.Select(async w => (w.Destination.Name, R: await w.DeliverAsync(e, retries: 0, ct))));
        return [.. results.Select(r => new NotifyTestResult(r.Name, r.R.Ok, r.R.Detail))];
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        await _reminders;
        List<DestinationWorker> all;
        lock (_lock)
            all = [.. _workers.Values, .. _retired];
        foreach (var w in all)
            await w.DisposeAsync();
        _core.Webhooks.Dispose();
        _stop.Dispose();
    }
}
