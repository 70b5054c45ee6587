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

/// <summary>One destination: a webhook, a program or an SMTP server (exactly one of the three is set).
/// <paramref name="Retries"/> attempts follow a failed first one, <paramref name="Backoff"/> apart, doubling each time up
/// to <see cref="MaxBackoff"/>.</summary>
internal sealed record Destination(string Name, WebhookTarget? Webhook, ExecTarget? Exec, TimeSpan Timeout, int Retries, TimeSpan Backoff,
    MailTarget? Mail = null)
{
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(5);

    public string Kind => Webhook is not null ? "webhook" : Mail is not null ? "email" : "exec";

    /// <summary>Where it goes, for status and events (the URL, the program, or the server and recipients; never a
    /// secret or password).</summary>
    public string Describe => Webhook?.Url.ToString() ?? Mail?.Describe ?? Exec!.Run;

    public TimeSpan DelayBefore(int retry) =>
        TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, Backoff.Ticks * (1L << Math.Min(retry - 1, 20))));
}

/// <summary>A JSON POST, signed with HMAC-SHA256 of the body when a secret is given.</summary>
internal sealed record WebhookTarget(Uri Url, byte[]? Secret);

/// <summary>How an e-mail destination protects the SMTP session: <c>required</c> (STARTTLS or no message, the
/// default), <c>optional</c> (STARTTLS when the server offers it, else plain), <c>none</c> (plain, for a relay on the
/// same host or network).</summary>
internal enum MailTls
{
    Required,
    Optional,
    None,
}

/// <summary>An SMTP server that relays the message to <paramref name="To"/>. <paramref name="Password"/> was read from
/// the file the notify file names (never inline); <paramref name="TrustFile"/>: PEM certificates trusted as roots for
/// this server besides the system's (a private CA, or a self-signed server's own certificate).</summary>
internal sealed record MailTarget(string Host, int Port, string From, IReadOnlyList<string> To, MailTls Tls, string? User, string? Password,
    string? TrustFile)
{
    public string Describe =>
        $"smtp://{(Host.Contains(':') ? $"[{Host}]" : Host)}:{Port} (starttls {Tls.ToString().ToLowerInvariant()}) to {string.Join(", ", To)}";
}

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
