namespace Understudy.Agent.Hosting;

/// <param name="AllowedHosts">Host names the API answers to besides loopback and this machine's own (<c>--api-allowed-host</c>, Api/ApiHostFilter.cs).</param>
/// <param name="NotifyFile">The notify file (docs/monitoring.md); null: <c>DATA/notify.yaml</c>.</param>
/// <param name="MetricsAnonymousLoopback">GET /metrics answers requests from loopback without a token.</param>
/// <param name="Retention">How much of the event log is kept (<c>--events-keep</c>, <c>--events-keep-days</c>).</param>
/// <param name="PeerHeartbeat">The peer links' heartbeat interval (<c>--peer-heartbeat</c>; null: 5 s, Peer/PeerHeartbeat.cs).</param>
/// <param name="ApiCertificate">An admin-provided certificate for the HTTPS API (PEM with <paramref name="ApiKey"/>, or PKCS#12); null: the agent's own.</param>
internal sealed record AgentOptions(string DataDir, string Listen = "0.0.0.0:7420", string Api = "127.0.0.1:7421", string? Name = null,
    string? ApiCertificate = null, string? ApiKey = null, IReadOnlyList<string>? AllowedHosts = null, string? NotifyFile = null,
    bool MetricsAnonymousLoopback = false, Understudy.Agent.Events.EventRetention? Retention = null, TimeSpan? PeerHeartbeat = null);
