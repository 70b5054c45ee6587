namespace Understudy.Agent.Notify;

/// <summary>The agent's notification rules (docs/monitoring.md, "Notifications"): where to send which events, read from
/// the notify file (<c>DATA/notify.yaml</c>, or <c>understudy agent --notify FILE</c>) by <see cref="NotifyFile"/>.</summary>
/// <param name="PendingRepeat">How often a fail-over that waits for an operator is announced again, until answered.</param>
internal sealed record NotifySettings(IReadOnlyList<Destination> Destinations, IReadOnlyList<NotifyRule> Rules, TimeSpan PendingRepeat)
{
    public static readonly TimeSpan DefaultPendingRepeat = TimeSpan.FromMinutes(15);

    /// <summary>No file: no destinations, nothing sent.</summary>
    public static readonly NotifySettings None = new([], [], DefaultPendingRepeat);

    /// <summary>The destinations a rule-matched event goes to, each once, in the file's order.</summary>
    public IReadOnlyList<Destination> DestinationsFor(NotifyEvent e)
    {
        var names = new HashSet<string>(Rules.Where(r => r.Matches(e)).SelectMany(r => r.To), StringComparer.Ordinal);
        return [.. Destinations.Where(d => names.Contains(d.Name))];
    }
}

/// <summary>One destination: a webhook or a program. <paramref name="Retries"/> attempts follow a failed first one,
/// <paramref name="Backoff"/> apart, doubling each time up to <see cref="MaxBackoff"/>.</summary>
internal sealed record Destination(string Name, WebhookTarget? Webhook, ExecTarget? Exec, TimeSpan Timeout, int Retries, TimeSpan Backoff)
{
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(5);

    public string Kind => Webhook is not null ? "webhook" : "exec";

    /// <summary>Where it goes, for status and events (the URL or the program; never the secret).</summary>
    public string Describe => Webhook?.Url.ToString() ?? Exec!.Run;

    public TimeSpan DelayBefore(int retry) =>
        TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, Backoff.Ticks * (1L << Math.Min(retry - 1, 20))));
}

/// <summary>A JSON POST, signed with HMAC-SHA256 of the body when a secret is given.</summary>
internal sealed record WebhookTarget(Uri Url, byte[]? Secret);

/// <summary>A program run without a shell, the notification's JSON on its standard input.</summary>
internal sealed record ExecTarget(string Run, IReadOnlyList<string> Args);

/// <summary>Which events go where. Each list given must contain the event's value (any of it); a rule without lists
/// matches every event. <paramref name="Jobs"/> are names or globs with <c>*</c> and <c>?</c>.</summary>
internal sealed record NotifyRule(IReadOnlyList<string> Severities, IReadOnlyList<string> Categories, IReadOnlyList<int> Codes,
    IReadOnlyList<string> Jobs, IReadOnlyList<string> To)
{
    public bool Matches(NotifyEvent e) =>
        (Severities.Count == 0 || Severities.Contains(e.Severity, StringComparer.Ordinal))
        && (Categories.Count == 0 || Categories.Contains(e.Category, StringComparer.Ordinal))
        && (Codes.Count == 0 || Codes.Contains(e.Code))
        && (Jobs.Count == 0 || (e.Job is { } job && Jobs.Any(g => Glob(g, job))));

    private static bool Glob(string pattern, string text) =>
        System.Text.RegularExpressions.Regex.IsMatch(text,
            "^" + System.Text.RegularExpressions.Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal).Replace("\\?", ".", StringComparison.Ordinal) + "$",
            System.Text.RegularExpressions.RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
}
