using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Understudy.Agent.Events;

/// <summary>
/// Events held in memory while the event log cannot be written (ENOSPC, EIO, a read-only or damaged state file). An
/// event is a record of what happened, not a decision, so failing to store one must not stop what it records: the
/// fail-over monitor that could not write "source suspect" used to die there, and the fail-over with it. Held events
/// are bounded (<see cref="MaxHeld"/>; past that the oldest go, counted), each is in the system log already, and
/// every <see cref="RetryInterval"/> they are written in one transaction behind a note of the outage
/// (<see cref="EventCode.EventLogUnwritable"/>), so the stored log stays in order and says what it missed.
/// </summary>
internal sealed partial class EventLog : IDisposable
{
    /// <summary>At most this many events are held; at 300 bytes or so each, a few MiB.</summary>
    public const int MaxHeld = 10_000;

    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(2);

    // Orders every store: held events go first, so ids follow the order events happened in.
    private readonly Lock _storeLock = new();
    private readonly Queue<AgentEvent> _held = new();
    private long _nextHeldId;
    private long _dropped;
    private long _droppedInOutage;
    private string? _outageSince;
    private string? _outageReason;
    private ITimer? _retry;
    private bool _disposed;

    /// <summary>Events recorded but not yet stored.</summary>
    public int Held
    {
        get
        {
            lock (_storeLock)
                return _held.Count;
        }
    }

    /// <summary>Events dropped from memory since the agent started, because more than <see cref="MaxHeld"/> were held.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    private AgentEvent Store(AgentEvent ev)
    {
        lock (_storeLock)
        {
            // While events are held, a new one joins them: storing it alone would put it before older ones.
            if (_outageSince is null)
            {
                try
                {
                    return ev with { Id = store.AddEvent(ev.Time, ev.Severity, ev.Category, ev.Job, ev.Message, ev.Data, (int)ev.Code) };
                }
                catch (Exception e)
                {
                    _outageSince = ev.Time;
                    _outageReason = e.Message;
                    LogUnwritable(logger, e.Message, MaxHeld);
                    if (!_disposed)
                        _retry = time.CreateTimer(_ => TryFlush(), null, RetryInterval, RetryInterval);
                }
            }
            if (_held.Count == MaxHeld)
            {
                _held.Dequeue();
                Interlocked.Increment(ref _dropped);
                if (_droppedInOutage++ == 0)
                    LogDropping(logger, MaxHeld);
            }
            // Negative, unique: never a stored id, and the console tells live events apart by id.
            var held = ev with { Id = --_nextHeldId };
            _held.Enqueue(held);
            return held;
        }
    }

    /// <summary>Writes the held events behind a note of the outage, all or none. True when nothing is held any more.</summary>
    public bool TryFlush()
    {
        AgentEvent note;
        lock (_storeLock)
        {
            if (_outageSince is null)
                return true;
            var dropped = _droppedInOutage;
            var message = $"the event log could not be written from {_outageSince} to {time.GetUtcNow():O} ({_outageReason}): "
                + $"{_held.Count} events held in memory meanwhile follow this one"
                + (dropped > 0 ? $"; the {dropped} oldest were dropped (they are in the system log)" : "");
            var data = JsonSerializer.Serialize(new { since = _outageSince, reason = _outageReason, held = _held.Count, dropped }, EventJson.Options);
            // Dated when the outage began, so the stored log reads in time order as well as in id order.
            note = new AgentEvent(0, _outageSince, Severity.Warning, "agent", null, message, data, EventCode.EventLogUnwritable);
            try
            {
                note = note with { Id = store.AddEvents([note, .. _held])[0] };
            }
            catch (Exception e)
            {
                _outageReason = e.Message;
                return false;
            }
            _held.Clear();
            _outageSince = null;
            _outageReason = null;
            _droppedInOutage = 0;
            _retry?.Dispose();
            _retry = null;
        }
        Log(note.Severity, note.Category, note.Code, note.Job, note.Message);
        Publish(note);
        return true;
    }

    /// <summary>A last try to store what is held (the store must still be open), then no more retries.</summary>
    public void Dispose()
    {
        TryFlush();
        lock (_storeLock)
        {
            _disposed = true;
            _retry?.Dispose();
            _retry = null;
        }
    }

    [LoggerMessage(EventId = 101, Level = LogLevel.Error,
        Message = "the event log cannot be written ({Reason}): events are held in memory (at most {Max}) and stored when it can be written again")]
    private static partial void LogUnwritable(ILogger logger, string reason, int max);

    [LoggerMessage(EventId = 102, Level = LogLevel.Error, Message = "more than {Max} events held in memory: dropping the oldest (each is in this log)")]
    private static partial void LogDropping(ILogger logger, int max);
}
