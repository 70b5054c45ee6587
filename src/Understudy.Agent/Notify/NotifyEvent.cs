using Understudy.Core.Api;

namespace Understudy.Agent.Notify;

/// <summary>What is sent: an event of the log as the API serves it (docs/events.md), and why it is sent —
/// <c>event</c> (a rule matched it), <c>reminder</c> (a fail-over still waits for an operator) or <c>test</c>
/// (<c>understudy notify test</c>).</summary>
internal sealed record NotifyEvent(string Kind, ApiEvent Event)
{
    public const string KindEvent = "event";
    public const string KindReminder = "reminder";
    public const string KindTest = "test";

    public string Severity => Event.Severity;

    public string Category => Event.Category;

    public int Code => Event.Code ?? 0;

    public string? Job => Event.Job;
}

/// <summary>The JSON body of a webhook and the standard input of an exec destination (docs/monitoring.md).
/// <see cref="Delivery"/> stays the same across the retries of one delivery, so a receiver can drop repeats;
/// <see cref="SentAt"/> is each attempt's own, so a receiver can refuse old (replayed) messages.</summary>
internal sealed record NotifyMessage(string Delivery, string Kind, string SentAt, int Attempt, AgentName Agent, ApiEvent Event);
