using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Understudy.Core.Api;

namespace Understudy.Cli;

/// <summary>An error the CLI reports as one line on stderr with exit code 2.</summary>
internal sealed class CliException(string message, int exitCode = ExitCodes.Error) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Error = 2;
    public const int Timeout = 3;
}

/// <summary>The CLI's only way to an agent: its management API over HTTP(S) with the bearer token.</summary>
internal sealed class ApiClient : IDisposable
{
    private readonly HttpClient _http;

    public ApiClient(string baseUrl, string token, string? pinnedId)
    {
        var handler = new SocketsHttpHandler();
        if (pinnedId is not null)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) =>
                cert is not null && string.Equals(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(cert.GetRawCertData())),
                    pinnedId.Replace(":", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase);
        }
        _http = new HttpClient(handler) { BaseAddress = new Uri(baseUrl.TrimEnd('/') + "/"), Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        BaseUrl = baseUrl;
        Token = token;
    }

    public string BaseUrl { get; }

    public string Token { get; }

    /// <summary>--api/--token win; otherwise the local agent's data dir says where its API is.</summary>
    public static ApiClient Resolve(string? api, string? token, string dataDir, string? agentId)
    {
        token ??= Environment.GetEnvironmentVariable("UNDERSTUDY_TOKEN");
        agentId ??= Environment.GetEnvironmentVariable("UNDERSTUDY_AGENT_ID");
        if (api is null)
        {
            var addrFile = Path.Combine(dataDir, "api-address");
            var tokenFile = Path.Combine(dataDir, "api-token");
            if (!File.Exists(addrFile))
                throw new CliException($"no agent found in {dataDir} (no api-address file): start one with 'understudy agent --data-dir {dataDir}', or pass --api URL --token TOKEN");
            // Line 1: the URL; line 2 (HTTPS only): the SHA-256 of the API's certificate, pinned unless --agent-id says otherwise.
            var lines = File.ReadAllLines(addrFile);
            api = lines.FirstOrDefault()?.Trim() ?? "";
            if (lines.Length > 1 && lines[1].Trim().Length > 0)
                agentId ??= lines[1].Trim();
            // An agent listening on every address is reached locally over loopback.
            api = api.Replace("://0.0.0.0:", "://127.0.0.1:", StringComparison.Ordinal).Replace("://[::]:", "://[::1]:", StringComparison.Ordinal);
            try
            {
                token ??= File.ReadAllText(tokenFile).Trim();
            }
            catch (UnauthorizedAccessException)
            {
                throw new CliException($"cannot read {tokenFile}: run as the agent's user (often root) or pass --token");
            }
        }
        if (token is null)
            throw new CliException("--api needs --token (or UNDERSTUDY_TOKEN)");
        // Before anything is sent: no scheme means https off loopback, and plain http off loopback is refused.
        return new ApiClient(ApiAddress.Resolve(api), token, agentId);
    }

    public async Task<T> GetAsync<T>(string path, JsonTypeInfo<T> reply, CancellationToken ct) =>
        (await SendAsync(HttpMethod.Get, path, null, reply, ct)).Value;

    public async Task<T> PostAsync<TBody, T>(string path, TBody body, JsonTypeInfo<TBody> request, JsonTypeInfo<T> reply, CancellationToken ct) =>
        (await SendAsync(HttpMethod.Post, path, Content(body, request), reply, ct)).Value;

    public Task<ApiReply<T>> GetReplyAsync<T>(string path, JsonTypeInfo<T> reply, CancellationToken ct) => SendAsync(HttpMethod.Get, path, null, reply, ct);

    /// <summary>A POST whose reply is also printed as the agent's JSON (--json).</summary>
    public Task<ApiReply<T>> PostReplyAsync<TBody, T>(string path, TBody body, JsonTypeInfo<TBody> request, JsonTypeInfo<T> reply, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, path, Content(body, request), reply, ct);

    /// <summary>A POST that sends no body (the job controls).</summary>
    public async Task<T> PostAsync<T>(string path, JsonTypeInfo<T> reply, CancellationToken ct) =>
        (await SendAsync(HttpMethod.Post, path, new StringContent("{}", System.Text.Encoding.UTF8, "application/json"), reply, ct)).Value;

    public async Task DeleteAsync(string path, CancellationToken ct) => await SendAsync(HttpMethod.Delete, path, null, ApiJson.Default.JsonElement, ct);

    public async Task<T> DeleteAsync<T>(string path, JsonTypeInfo<T> reply, CancellationToken ct) => (await SendAsync(HttpMethod.Delete, path, null, reply, ct)).Value;

    /// <summary>Bodies are written by the generated serializer (ApiJson): the reflection-based one's set-up for one type
    /// cost a CLI call ~20 ms (docs/performance.md).</summary>
    private static StringContent Content<TBody>(TBody body, JsonTypeInfo<TBody> type) =>
        new(JsonSerializer.Serialize(body, type), System.Text.Encoding.UTF8, "application/json");

    private async Task<ApiReply<T>> SendAsync<T>(HttpMethod method, string path, HttpContent? body, JsonTypeInfo<T> reply, CancellationToken ct)
    {
        using var req = new HttpRequestMessage(method, path.TrimStart('/'));
        req.Content = body;
        HttpResponseMessage resp;
        try
        {
            resp = await _http.SendAsync(req, ct);
        }
        catch (HttpRequestException e)
        {
            throw new CliException($"cannot reach the agent at {BaseUrl}: {e.Message}");
        }
        using (resp)
        {
            var text = await resp.Content.ReadAsStringAsync(ct);
            if (text.Length == 0)
                text = "{}";
            if (!resp.IsSuccessStatusCode)
                throw new CliException(ProblemText(text) ?? $"{(int)resp.StatusCode} {resp.ReasonPhrase}");
            try
            {
                return new ApiReply<T>(JsonSerializer.Deserialize(text, reply)!, text);
            }
            catch (JsonException e)
            {
                throw new CliException($"the agent at {BaseUrl} answered {path} with JSON this CLI cannot read ({e.Message})");
            }
        }
    }

    /// <summary>The <c>error</c> of a problem document, or null when the body is none.</summary>
    private static string? ProblemText(string text)
    {
        try
        {
            return JsonSerializer.Deserialize(text, ApiJson.Default.ApiProblemBody)?.Error;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public async IAsyncEnumerable<string> StreamAsync(string path, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        using var resp = await _http.GetAsync(path.TrimStart('/'), HttpCompletionOption.ResponseHeadersRead, ct);
        if (!resp.IsSuccessStatusCode)
            throw new CliException($"{(int)resp.StatusCode} {resp.ReasonPhrase}");
        using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync(ct));
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
                yield return line[6..];
        }
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>A reply read into its record, and the agent's JSON as it came (what --json prints: "the agent's JSON answer").</summary>
internal sealed record ApiReply<T>(T Value, string Text)
{
    /// <summary>The reply compacted as the CLI always printed it (JsonNode's writer: one line, its escaping).</summary>
    public string Json => JsonNode.Parse(Text)!.ToJsonString();
}
