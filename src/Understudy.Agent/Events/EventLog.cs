using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Understudy.Agent.State;

namespace Understudy.Agent.Events;

/// <summary>One event as stored and served. <see cref="Code"/> goes out as its number (docs/events.md), with
/// <see cref="CodeName"/> beside it for people; an event stored before codes existed reads as 0, Unknown.</summary>
internal sealed record AgentEvent(long Id, string Time, string Severity, string Category, string? Job, string Message, string? Data,
    [property: JsonConverter(typeof(JsonNumberEnumConverter<EventCode>))] EventCode Code = EventCode.Unknown)
{
    public string CodeName => Code.ToString();

    /// <summary>As the API serves it (GET /events, the stream), field for field.</summary>
    public Core.Api.ApiEvent ToApi() => new(Id, Time, Severity, Category, Job, Message, Data, (int)Code, CodeName);
}

internal static class Severity
{
    public const string Info = "info";
    public const string Warning = "warning";
    public const string Error = "error";
    public const string Security = "security";
}

/// <summary>
/// The product's event log: every event is stored durably, written to the system log
/// (journald via the console logger's systemd format), and pushed to live subscribers (SSE, --follow).
/// Recording never throws into its caller: an event that cannot be stored (a full or failing data directory) is held
/// in memory until it can be (EventLog.Held.cs), so the loops that record events — the fail-over monitor first — go on.
/// </summary>
internal sealed partial class EventLog(StateStore store, ILogger<EventLog> logger, TimeProvider time, OpTrace? trace = null)
{
    /// <summary>The operation trace (off unless asked for): here because every part that replicates has the event log.</summary>
    public OpTrace Trace { get; } = trace ?? OpTrace.None;

    /// <summary>The clock events are stamped with (and the refusal throttle's windows counted by).</summary>
    public TimeProvider Time => time;

    private readonly Lock _lock = new();
    private readonly List<Channel<AgentEvent>> _subscribers = [];

    /// <summary>Stores, logs and publishes one event. Never throws for want of storage; the event returned has a negative
    /// <see cref="AgentEvent.Id"/> while it is held in memory (see <see cref="Held"/>).</summary>
    public AgentEvent Record(EventCode code, string severity, string category, string? job, string message, object? data = null)
    {
        var t = time.GetUtcNow().ToString("O");
        var json = data is null ? null : JsonSerializer.Serialize(data, data.GetType(), EventJson.Options);
        // Logged first and whatever the store says: the system log is the copy that survives a data directory that fails.
        Log(severity, category, code, job, message);
        Count(severity);
        var ev = Store(new AgentEvent(0, t, severity, category, job, message, json, code));
        Publish(ev);
        TrimNowAndThen();
        return ev;
    }

    private static readonly string[] Severities = [Severity.Info, Severity.Warning, Severity.Error, Severity.Security];
    private readonly long[] _recorded = new long[Severities.Length];

    private void Count(string severity)
    {
        int i = Array.IndexOf(Severities, severity);
        if (i >= 0)
            Interlocked.Increment(ref _recorded[i]);
    }

    /// <summary>Events recorded since the agent started, per severity (GET /metrics), every severity listed.</summary>
    public IEnumerable<(string Severity, long Count)> RecordedBySeverity() =>
        Severities.Select((s, i) => (s, Interlocked.Read(ref _recorded[i])));

    private void Log(string severity, string category, EventCode code, string? job, string message)
    {
        var level = severity switch
        {
            Severity.Error => LogLevel.Error,
            Severity.Warning or Severity.Security => LogLevel.Warning,
            _ => LogLevel.Information,
        };
        LogEvent(logger, level, category, (int)code, job ?? "-", message);
    }

    private void Publish(AgentEvent ev)
    {
        lock (_lock)
        {
            foreach (var s in _subscribers)
                s.Writer.TryWrite(ev);
        }
    }

    public IReadOnlyList<AgentEvent> List(string? job, long afterId, int limit) => store.ListEvents(job, afterId, limit);

    /// <summary>A live feed of new events; dispose the subscription to stop.</summary>
    public Subscription Subscribe()
    {
        var ch = Channel.CreateBounded<AgentEvent>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest });
        lock (_lock)
            _subscribers.Add(ch);
        return new Subscription(this, ch);
    }

    internal sealed class Subscription(EventLog owner, Channel<AgentEvent> channel) : IDisposable
    {
        public ChannelReader<AgentEvent> Reader => channel.Reader;

        public void Dispose()
        {
            lock (owner._lock)
                owner._subscribers.Remove(channel);
            channel.Writer.TryComplete();
        }
    }

    [LoggerMessage(EventId = 100, Message = "[{Category} {Code}] job={Job}: {Message}")]
    private static partial void LogEvent(ILogger logger, LogLevel level, string category, int code, string job, string message);
}

internal static class EventJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
