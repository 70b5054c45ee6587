namespace Understudy.Core.Api;

/// <summary>GET /health: answers without a token, so a probe can tell the agent is up. <see cref="Ok"/> is false (HTTP 503)
/// while one of the agent's supervised loops has failed and not run again; <see cref="Down"/> names each (the reasons are
/// in the event log, which needs the token).</summary>
internal sealed record HealthReply(bool Ok, IReadOnlyList<DownLoop> Down);

/// <summary>A supervised loop that failed and waits to run again: its name, its job (null for the agent's own), how often it was restarted.</summary>
internal sealed record DownLoop(string Loop, string? Job, int Restarts);

/// <summary>GET /agent. <see cref="Peer"/>: the peer link's bound address (null before it listens).</summary>
internal sealed record AgentInfo(string Id, string Name, string Version, string? Peer, string DataDir);

/// <summary>The agent in GET /status: who answered.</summary>
internal sealed record AgentName(string Id, string Name);

/// <summary>GET /status: the source jobs (by name), the jobs hosted here as a target, and their fail-overs.</summary>
internal sealed record StatusReply(AgentName Agent, IReadOnlyList<JobStatusView> Jobs, IReadOnlyList<HostedView> Hosted, IReadOnlyList<FailoverView> Failover);

/// <summary>A job this agent is target of. <see cref="WriteOrder"/>: a write-order job's point on this target (null for file mode).</summary>
internal sealed record HostedView(string Name, string Role, string SourceId, string SourceName, string TargetPath, long LastSeq, bool Connected,
    string Consistency = "file", WriteOrderView? WriteOrder = null);

/// <summary>POST and DELETE /trust: the peer's ID as stored (lower-case hex, no colons).</summary>
/// <param name="Disarmed">On removal: what the revocation ended or disarmed, one line each (sessions, fail-over plans, registrations).</param>
internal sealed record TrustReply(string Id, string[]? Disarmed = null);

/// <summary>One event of the log (GET /events, /events/stream; docs/events.md). <see cref="Code"/> is the event code's
/// number and <see cref="CodeName"/> its name; null only from an agent older than codes (the CLI prints "-").</summary>
internal sealed record ApiEvent(long Id, string Time, string Severity, string Category, string? Job, string Message, string? Data,
    int? Code, string? CodeName);

/// <summary>
/// Every API error: an RFC 9457 problem document (application/problem+json). <see cref="Error"/> repeats <see cref="Detail"/>
/// because the CLI and simple scripts read that one field; <see cref="Location"/> places an error inside a job file.
/// </summary>
internal sealed record ApiProblemBody(string Type, string Title, int Status, string Detail, string Error, object? Location);

/// <summary>GET /notify and POST /notify/reload: the notify file in force (docs/monitoring.md). <see cref="Error"/>: why the
/// file found at start is not in force (null when it is); <see cref="PendingRepeatSeconds"/>: how often a pending
/// fail-over is announced again.</summary>
internal sealed record NotifyReply(string File, bool FileExists, string? Error, IReadOnlyList<NotifyDestinationView> Destinations,
    IReadOnlyList<NotifyRuleView> Rules, double PendingRepeatSeconds);

/// <summary>A destination: <see cref="Kind"/> webhook, exec or email; <see cref="Target"/> is its URL, program, or SMTP server and
/// recipients (never a secret or password); the counters are since the agent started.</summary>
internal sealed record NotifyDestinationView(string Name, string Kind, string Target, bool Signed, int Retries, double BackoffSeconds, double TimeoutSeconds,
    long Delivered, long Failed, int Queued);

/// <summary>A rule: each list given must hold the event's value; empty lists match anything.</summary>
internal sealed record NotifyRuleView(IReadOnlyList<string> Severity, IReadOnlyList<string> Category, IReadOnlyList<int> Code, IReadOnlyList<string> Job,
    IReadOnlyList<string> To);

/// <summary>POST /notify/test: what each destination answered to one attempt.</summary>
internal sealed record NotifyTestReply(IReadOnlyList<NotifyTestResult> Results);

internal sealed record NotifyTestResult(string Destination, bool Delivered, string Detail);
