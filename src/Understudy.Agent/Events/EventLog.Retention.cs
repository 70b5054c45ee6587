namespace Understudy.Agent.Events;

/// <summary>How much of the event log the agent keeps (<c>understudy agent --events-keep N --events-keep-days D</c>).</summary>
internal sealed record EventRetention(int MaxEvents = EventRetention.DefaultMaxEvents, int MaxAgeDays = EventRetention.DefaultMaxAgeDays)
{
    public const int DefaultMaxEvents = Understudy.Core.Api.EventRetentionDefaults.MaxEvents;
    public const int DefaultMaxAgeDays = Understudy.Core.Api.EventRetentionDefaults.MaxAgeDays;
}

/// <summary>
/// The event log is bounded: without a bound, anything that makes events (a client refused again and again, a
/// flapping link) grows state.db until the data directory is full, which stops the loops that need it. The oldest
/// events go first, by count and by age: at start, then every tenth of the bound (500 events at most) stored.
/// </summary>
internal sealed partial class EventLog
{
    /// <summary>Trimming is a DELETE over an index: cheap, but not worth doing per event.</summary>
    private int TrimEvery => Math.Clamp(Retention.MaxEvents / 10, 1, 500);

    private int _sinceTrim;

    public EventRetention Retention { get; init; } = new();

    /// <summary>Trims now; returns how many events went. Never throws: a store that cannot trim cannot store either, and says so there.</summary>
    public int Trim()
    {
        try
        {
            var before = (time.GetUtcNow() - TimeSpan.FromDays(Retention.MaxAgeDays)).ToString("O");
            return store.TrimEvents(before, Retention.MaxEvents);
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or InvalidOperationException)
        {
            return 0;
        }
    }

    /// <summary>Called for each event stored: every <see cref="TrimEvery"/>th trims the log.</summary>
    private void TrimNowAndThen()
    {
        if (Interlocked.Increment(ref _sinceTrim) % TrimEvery == 0)
            Trim();
    }
}
