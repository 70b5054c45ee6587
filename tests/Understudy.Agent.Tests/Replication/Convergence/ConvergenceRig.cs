using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Understudy.Agent.Tests.Replication.Faults.Support;
using Understudy.Testing;

namespace Understudy.Agent.Tests.Replication.Convergence;

/// <summary>
/// One source and one target agent, the link through a <see cref="TcpProxy"/>, shared by many episodes: each episode
/// gets a job of its own on fresh directories (starting two agents and trusting them costs more than most episodes),
/// and the job is removed when it ends. Status is read from the API in this process (a CLI process per poll would
/// cost more than the wait).
/// </summary>
internal sealed class ConvergenceRig : IAsyncDisposable
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };

    private ConvergenceRig(AgentPair agents, TcpProxy proxy)
    {
        Agents = agents;
        Proxy = proxy;
    }

    public AgentPair Agents { get; }

    public TcpProxy Proxy { get; }

    public static async Task<ConvergenceRig> StartAsync()
    {
        var pair = new AgentPair();
        // A passive source asks the target for a restore, and a restore syncs again, every 3 s and 2 s by default;
        // both only matter in a fail-over episode, which they make quicker.
        foreach (var a in new[] { pair.Source, pair.Target })
        {
            a.Environment["UNDERSTUDY_PASSIVE_POLL_MS"] = "500";
            a.Environment["UNDERSTUDY_RESTORE_SYNC_MS"] = "500";
            // The operation trace (src/Understudy.Agent/Events/OpTrace.cs): a divergence prints how its entries went.
            a.Environment["Logging__LogLevel__Understudy.Trace"] = "Debug";
        }
        try
        {
            await pair.StartAsync();
            return new ConvergenceRig(pair, TcpProxy.Start(pair.Target.PeerAddress));
        }
        catch
        {
            await pair.DisposeAsync();
            throw;
        }
    }

    /// <summary>The directories of one episode's job.</summary>
    public (string Source, string Target, string Outside) Dirs(string job) =>
        (Agents.Dir.Sub($"{job}/data"), Agents.Dir.Sub($"{job}/replica"), Agents.Dir.Sub($"{job}/outside"));

    /// <summary>Where the clients of a fail-over keep what they move out of the replica: a sibling of it.</summary>
    public string ClientsOutside(string job) => Agents.Dir.Sub($"{job}/outside-target");

    /// <param name="failover">With a fail-over section (manual trigger, the source agent's peer port watched): only
    /// for episodes that fail over, so the others run as before, without a monitor on the target.</param>
    public async Task ApplyJobAsync(string job, bool failover)
    {
        var (source, target, _) = Dirs(job);
        var failoverSection = failover ? $$"""
            failover:
              monitor:
                addresses: [ { address: 127.0.0.1, method: tcp, port: {{Agents.Source.PeerPort.ToString(CultureInfo.InvariantCulture)}} } ]
                interval: 500ms
                misses: 3
              trigger: manual
            """ : "";
        var yaml = $"""
            name: {job}
            source:
              paths: [{source}]
            target:
              address: {Proxy.Address}
              id: {Agents.Target.Id}
              path: {target}
            mirror:
              mode: different
              orphans: delete
            {failoverSection}
            """;
        await ApiAsync(HttpMethod.Post, "jobs", new JsonObject { ["yaml"] = yaml, ["fileName"] = $"{job}.yaml" });
    }

    /// <summary>
    /// A request to the source agent's API that must succeed. Jobs are applied, removed, paused and resumed this way, not
    /// with the CLI as a user would (docs/cli.md; the CLI is a client of the same API): a CLI process costs seconds
    /// on a loaded machine, twice or more per seed, which decides how many seeds CI can afford.
    /// </summary>
    public async Task ApiAsync(HttpMethod method, string path, JsonObject? body = null)
    {
        var dataDir = Agents.Source.DataDir;
        var url = (await File.ReadAllLinesAsync(Path.Combine(dataDir, "api-address")))[0].Trim();
        var token = (await File.ReadAllTextAsync(Path.Combine(dataDir, "api-token"))).Trim();
        using var req = new HttpRequestMessage(method, $"{url}/api/v1/{path}");
        req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null)
            req.Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
        using var resp = await _http.SendAsync(req);
        if (!resp.IsSuccessStatusCode)
            throw new InvalidOperationException($"{method} /api/v1/{path}: {(int)resp.StatusCode} {await resp.Content.ReadAsStringAsync()}");
    }

    /// <summary>Removes the job on the source (the target keeps its registration; nothing is deleted) and its directories.</summary>
    public async Task RemoveJobAsync(string job)
    {
        try
        {
            await ApiAsync(HttpMethod.Delete, $"jobs/{Uri.EscapeDataString(job)}");
        }
        catch (Exception e) when (e is InvalidOperationException or HttpRequestException or IOException or TaskCanceledException)
        {
            // best effort, as the CLI was: the job's directories go below all the same
        }
        var (source, target, outside) = Dirs(job);
        foreach (var d in new[] { source, target, outside, ClientsOutside(job) })
        {
            try
            {
                if (Directory.Exists(d))
                    Directory.Delete(d, recursive: true);
            }
            catch (IOException)
            {
                // best effort: the rig's own directory goes at the end
            }
        }
    }

    public Task<CliResult> CliAsync(params string[] args) => Agents.Source.CliAsync(args);

    /// <summary>GET /api/v1/jobs/JOB/status on the source agent; null while the agent does not answer.</summary>
    public async Task<JsonNode?> StatusAsync(string job, CancellationToken ct)
    {
        try
        {
            var dataDir = Agents.Source.DataDir;
            var url = (await File.ReadAllLinesAsync(Path.Combine(dataDir, "api-address"), ct))[0].Trim();
            var token = (await File.ReadAllTextAsync(Path.Combine(dataDir, "api-token"), ct)).Trim();
            using var req = new HttpRequestMessage(HttpMethod.Get, $"{url}/api/v1/jobs/{Uri.EscapeDataString(job)}/status");
            req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var resp = await _http.SendAsync(req, ct);
            if (!resp.IsSuccessStatusCode)
                return null;
            return JsonNode.Parse(await resp.Content.ReadAsStringAsync(ct));
        }
        catch (Exception e) when (e is HttpRequestException or IOException or IndexOutOfRangeException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Polls the status until <paramref name="condition"/> holds; the last status read, and whether it held.</summary>
    public async Task<(JsonNode? Last, bool Reached)> WaitAsync(string job, Func<JsonNode, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonNode? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await StatusAsync(job, CancellationToken.None) ?? last;
            if (last is not null && condition(last))
                return (last, true);
            await Task.Delay(50);
        }
        return (last, false);
    }

    /// <summary>The target's fail-over entry of the job (`status --json` on the target agent); null while it has none
    /// or does not answer.</summary>
    public async Task<JsonNode?> TargetFailoverAsync(string job)
    {
        var r = await Agents.Target.CliAsync("status", "--json");
        if (r.ExitCode != 0)
            return null;
        try
        {
            return JsonNode.Parse(r.Stdout)?["failover"]?.AsArray().FirstOrDefault(f => f?["name"]?.GetValue<string>() == job)?.DeepClone();
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    /// <summary>Polls the target's fail-over entry until its state is one of <paramref name="states"/>; throws with
    /// the last entry read when it does not come.</summary>
    public async Task<JsonNode> WaitTargetStateAsync(string job, TimeSpan timeout, params string[] states)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonNode? last = null;
        while (true)
        {
            last = await TargetFailoverAsync(job) ?? last;
            if (last?["state"]?.GetValue<string>() is { } state && states.Contains(state))
                return last;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"the target's fail-over state of {job} did not become {string.Join(" or ", states)} within {Seconds(timeout)} s; last: {last?.ToJsonString() ?? "(none)"}");
            await Task.Delay(200);
        }
    }

    public static bool Mirrored(JsonNode s) =>
        s["mirrored"]?.GetValue<bool>() == true && s["mirror"]?["phase"]?.GetValue<string>() is null or "complete"
        && s["state"]?.GetValue<string>() is "in-sync" or "replicating" or "paused";

    public static bool Idle(JsonNode s) => s["idle"]?.GetValue<bool>() == true;

    public static string State(JsonNode? s) => s?["state"]?.GetValue<string>() ?? "(no answer)";

    public static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await Proxy.DisposeAsync();
        await Agents.DisposeAsync();
    }
}
