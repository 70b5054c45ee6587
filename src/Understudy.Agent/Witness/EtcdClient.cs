using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Understudy.Agent.Witness;

/// <summary>The witness could not be asked (no endpoint answered inside the deadline, or answered with an error).</summary>
internal sealed class WitnessUnreachableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The few etcd v3 calls the witness needs, through etcd's JSON gRPC gateway (POST /v3/...; keys and values base64),
/// with <see cref="HttpClient"/> and no client package: grant, keep alive and revoke a lease; create a key only while it
/// is absent; read it; delete it only while it holds a given value. Every call has a deadline (<see cref="Deadline"/>)
/// across all endpoints: a hung etcd must never hold up the source's fence or the target's decision.
/// Endpoints are tried in order; the one that last answered goes first.
/// </summary>
internal sealed class EtcdClient(IReadOnlyList<string> endpoints, TimeSpan deadline)
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(5), PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30) })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    private int _preferred;

    public TimeSpan Deadline { get; } = deadline;

    /// <summary>A lease of <paramref name="ttl"/>; returns its ID and the TTL etcd granted (it may raise a short one).</summary>
    public async Task<(long Id, TimeSpan Ttl)> GrantAsync(TimeSpan ttl, CancellationToken ct)
    {
        var r = await CallAsync("/v3/lease/grant", new JsonObject { ["TTL"] = Str((long)ttl.TotalSeconds) }, ct);
        return (Long(r["ID"]), TimeSpan.FromSeconds(Long(r["TTL"])));
    }

    /// <summary>Renews the lease once; returns its TTL now, or zero when etcd no longer knows it (it expired).</summary>
    public async Task<TimeSpan> KeepAliveAsync(long lease, CancellationToken ct)
    {
        var r = await CallAsync("/v3/lease/keepalive", new JsonObject { ["ID"] = Str(lease) }, ct);
        return TimeSpan.FromSeconds(Long(r["result"]?["TTL"]));
    }

    public Task RevokeAsync(long lease, CancellationToken ct) => CallAsync("/v3/lease/revoke", new JsonObject { ["ID"] = Str(lease) }, ct);

    /// <summary>
    /// Creates <paramref name="key"/> with <paramref name="value"/> (bound to <paramref name="lease"/>, or to none with 0)
    /// only if it does not exist: one transaction, so two contenders can never both win. Returns null when this call
    /// created it, else the value that holds it.
    /// </summary>
    public async Task<string?> CreateAsync(string key, string value, long lease, CancellationToken ct)
    {
        var put = new JsonObject { ["key"] = B64(key), ["value"] = B64(value) };
        if (lease != 0)
            put["lease"] = Str(lease);
        var r = await CallAsync("/v3/kv/txn", new JsonObject
        {
            ["compare"] = new JsonArray(new JsonObject { ["key"] = B64(key), ["target"] = "CREATE", ["result"] = "EQUAL", ["create_revision"] = "0" }),
            ["success"] = new JsonArray(new JsonObject { ["request_put"] = put }),
            ["failure"] = new JsonArray(new JsonObject { ["request_range"] = new JsonObject { ["key"] = B64(key) } }),
        }, ct);
        if (r["succeeded"]?.GetValue<bool>() == true)
            return null;
        return Value(r["responses"]?[0]?["response_range"]) ?? "";
    }

    /// <summary>Replaces <paramref name="key"/> only while it holds exactly <paramref name="expected"/>; true when replaced.</summary>
    public async Task<bool> ReplaceAsync(string key, string expected, string value, long lease, CancellationToken ct)
    {
        var put = new JsonObject { ["key"] = B64(key), ["value"] = B64(value) };
        if (lease != 0)
            put["lease"] = Str(lease);
        var r = await CallAsync("/v3/kv/txn", new JsonObject
        {
            ["compare"] = new JsonArray(new JsonObject { ["key"] = B64(key), ["target"] = "VALUE", ["result"] = "EQUAL", ["value"] = B64(expected) }),
            ["success"] = new JsonArray(new JsonObject { ["request_put"] = put }),
        }, ct);
        return r["succeeded"]?.GetValue<bool>() == true;
    }

    /// <summary>Deletes <paramref name="key"/> only while it holds exactly <paramref name="expected"/>; true when it did (or the key is gone).</summary>
    public async Task<bool> DeleteAsync(string key, string expected, CancellationToken ct)
    {
        var r = await CallAsync("/v3/kv/txn", new JsonObject
        {
            ["compare"] = new JsonArray(new JsonObject { ["key"] = B64(key), ["target"] = "VALUE", ["result"] = "EQUAL", ["value"] = B64(expected) }),
            ["success"] = new JsonArray(new JsonObject { ["request_delete_range"] = new JsonObject { ["key"] = B64(key) } }),
        }, ct);
        return r["succeeded"]?.GetValue<bool>() == true || await GetAsync(key, ct) is null;
    }

    /// <summary>The key's value, or null when it does not exist.</summary>
    public async Task<string?> GetAsync(string key, CancellationToken ct) =>
        Value(await CallAsync("/v3/kv/range", new JsonObject { ["key"] = B64(key) }, ct));

    private async Task<JsonNode> CallAsync(string path, JsonObject body, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(Deadline);
        var errors = new List<string>();
        int first = Volatile.Read(ref _preferred);
        for (int n = 0; n < endpoints.Count; n++)
        {
            int i = (first + n) % endpoints.Count;
            try
            {
                using var resp = await Http.PostAsJsonAsync(endpoints[i].TrimEnd('/') + path, body, cts.Token);
                var text = await resp.Content.ReadAsStringAsync(cts.Token);
                if (!resp.IsSuccessStatusCode)
                {
                    errors.Add($"{endpoints[i]}: HTTP {(int)resp.StatusCode} {text.Trim()}");
                    continue;
                }
                // The keep-alive stream answers one message per request line; the first is ours.
                var line = text.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0];
                var node = JsonNode.Parse(line) ?? throw new WitnessUnreachableException($"{endpoints[i]} answered {path} with nothing");
                if (node["error"] is { } err)
                {
                    errors.Add($"{endpoints[i]}: {err["message"] ?? err}");
                    continue;
                }
                Volatile.Write(ref _preferred, i);
                return node;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                errors.Add($"{endpoints[i]}: no answer within {Deadline.TotalMilliseconds:0} ms");
                break; // the deadline covers the whole call, not each endpoint
            }
            catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException or IOException)
            {
                errors.Add($"{endpoints[i]}: {e.Message}");
            }
        }
        throw new WitnessUnreachableException($"the witness did not answer ({string.Join("; ", errors)})");
    }

    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    private static string Str(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static long Long(JsonNode? n) => n is null ? 0 : long.Parse(n.GetValue<string>(), CultureInfo.InvariantCulture);

    private static string? Value(JsonNode? range) =>
        range?["kvs"]?[0]?["value"]?.GetValue<string>() is { } v ? Encoding.UTF8.GetString(Convert.FromBase64String(v)) : range?["kvs"]?[0] is null ? null : "";
}
