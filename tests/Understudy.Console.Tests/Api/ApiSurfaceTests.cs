using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Understudy.Testing;
using Understudy.Console.Tests.Support;
using Xunit;

namespace Understudy.Console.Tests.Api;

/// <summary>What the console relies on in the API, over HTTP against a real agent.</summary>
public sealed class ApiSurfaceTests : IAsyncLifetime
{
    private readonly AdminApi _api = new();
    private AgentProcess _agent = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync() => (_agent, _http) = await _api.StartAsync();

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task OpenApi_DescribesEveryApiRoute_WithBodiesAndAuth()
    {
        var doc = JsonNode.Parse(await _http.GetStringAsync("/api/v1/openapi.json"))!;
        Assert.Equal("3.1.0", doc["openapi"]!.ToString());
        var paths = doc["paths"]!.AsObject();
        foreach (var (path, method) in new[] { ("/api/v1/agent", "get"), ("/api/v1/jobs", "post"), ("/api/v1/jobs/{name}", "delete"),
            ("/api/v1/jobs/{name}/mirror", "post"), ("/api/v1/jobs/{name}/verify", "post"), ("/api/v1/jobs/validate", "post"),
            ("/api/v1/events/stream", "get"), ("/api/v1/health", "get"), ("/api/v1/trust/{id}", "delete") })
            Assert.True(paths[path]?[method] is not null, $"{method} {path} missing from the OpenAPI document");
        Assert.DoesNotContain(paths, p => !p.Key.StartsWith("/api/", StringComparison.Ordinal) || p.Key.Contains("{**", StringComparison.Ordinal));
        // The console finds the fail-over actions here (it shows restore and fail back only when they are listed).
        Assert.NotNull(paths["/api/v1/failover/{name}"]?["post"]);
        Assert.Equal("boolean", doc["components"]!["schemas"]!["FailoverRequest"]!["properties"]!["dryRun"]!["type"]!.ToString());
        // Fail-back takes a dry run (the console shows its steps) and nothing that would do nothing; restore's force says what it does.
        var failback = doc["components"]!["schemas"]![paths["/api/v1/failover/{name}/failback"]!["post"]!["requestBody"]!["content"]!["application/json"]!["schema"]!["$ref"]!.ToString().Split('/')[^1]]!;
        Assert.Equal(["dryRun"], failback["properties"]!.AsObject().Select(p => p.Key));
        Assert.Equal("boolean", failback["properties"]!["dryRun"]!["type"]!.ToString());
        var restore = doc["components"]!["schemas"]!["RestoreRequest"]!["properties"]!["force"]!;
        Assert.Contains("restore.conflicts: manual", restore["description"]!.ToString(), StringComparison.Ordinal);
        Assert.NotNull(paths["/api/v1/jobs/{name}/stop"]?["post"]);
        Assert.NotNull(paths["/api/v1/jobs/{name}/start"]?["post"]);
        var verifyBody = doc["components"]!["schemas"]!["VerifyRequest"]!;
        Assert.Equal("boolean", verifyBody["properties"]!["repair"]!["type"]!.ToString());
        Assert.Equal("path", paths["/api/v1/jobs/{name}/mirror"]!["post"]!["parameters"]![0]!["in"]!.ToString());
        Assert.NotNull(doc["components"]!["securitySchemes"]!["bearer"]);
    }

    /// <summary>The version the console shows (the API's) is the one `understudy --version` prints: one source, Directory.Build.props.</summary>
    [Fact]
    public async Task AgentVersion_IsWhatTheCliPrints()
    {
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(AgentProcess.CliDll);
        psi.ArgumentList.Add("--version");
        using var cli = Process.Start(psi)!;
        var printed = (await cli.StandardOutput.ReadToEndAsync()).Trim();
        await cli.WaitForExitAsync();
        var agent = JsonNode.Parse(await _http.GetStringAsync("/api/v1/agent"))!;
        var doc = JsonNode.Parse(await _http.GetStringAsync("/api/v1/openapi.json"))!;
        Assert.Equal(printed, agent["version"]!.ToString());
        Assert.Equal(printed, doc["info"]!["version"]!.ToString());
    }

    /// <summary>
    /// "Every CLI verb is an API call": each API path written in the CLI's source is a route of the
    /// agent's OpenAPI document (an interpolated segment matches any path parameter or word).
    /// </summary>
    [Fact]
    public async Task CliSource_CallsOnlyRoutesTheOpenApiDocumentLists()
    {
        var doc = JsonNode.Parse(await _http.GetStringAsync("/api/v1/openapi.json"))!;
        var routes = doc["paths"]!.AsObject().Select(p => Segments(p.Key)).ToList();
        var cli = Path.Combine(BrowserSession.RepoRoot, "src", "Understudy.Cli");
        var calls = Directory.EnumerateFiles(cli, "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => Regex.Matches(File.ReadAllText(f), "\"/?(api/v1/[^\"?]*)").Select(m => m.Groups[1].Value))
            .Distinct()
            .ToList();
        Assert.True(calls.Count >= 10, $"found only {calls.Count} API paths in {cli}");
        foreach (var call in calls)
        {
            var c = Segments("/" + Regex.Replace(call, "\\{[^}]*\\}", "{}"));
            Assert.True(routes.Any(r => r.Length == c.Length && r.Zip(c).All(x => x.First == x.Second || x.First == "{}" || x.Second == "{}")),
                $"the CLI calls {call}, which the OpenAPI document does not list");
        }

        static string[] Segments(string path) => [.. Regex.Replace(path, "\\{[^}]*\\}", "{}").Split('/', StringSplitOptions.RemoveEmptyEntries)];
    }

    /// <summary>docs/api.md's route table names every route of the OpenAPI document, as "`METHOD /api/v1/path`".</summary>
    [Fact]
    public async Task ApiDoc_RouteTableListsEveryOpenApiRoute()
    {
        var doc = JsonNode.Parse(await _http.GetStringAsync("/api/v1/openapi.json"))!;
        var md = await File.ReadAllTextAsync(Path.Combine(BrowserSession.RepoRoot, "docs", "api.md"));
        var table = md[md.IndexOf("| method and path |", md.IndexOf("## Routes", StringComparison.Ordinal), StringComparison.Ordinal)..];
        table = table[..table.IndexOf("\n\n", StringComparison.Ordinal)];
        var missing = doc["paths"]!.AsObject()
            .SelectMany(p => p.Value!.AsObject().Select(m => $"{m.Key.ToUpperInvariant()} {p.Key}"))
            .Where(route => !Regex.IsMatch(table, "`" + Regex.Escape(route) + "[`?]"))
            .ToList();
        Assert.True(missing.Count == 0, $"docs/api.md's route table lacks: {string.Join(", ", missing)}");
    }

    [Fact]
    public async Task Validate_ReportsFileLineAndKey_WithoutApplying()
    {
        var bad = await PostJsonAsync("/api/v1/jobs/validate", new { yaml = "name: x\nsource:\n  paths: [/nonexistent-ustd]\ntarget:\n  address: h\n  id: 12\n  path: /r\n", fileName = "x.yaml" });
        Assert.False(bad["valid"]!.GetValue<bool>());
        var e = bad["errors"]![0]!;
        Assert.Equal("target.id", e["key"]!.ToString());
        Assert.Equal(6, e["line"]!.GetValue<int>());
        Assert.StartsWith("x.yaml:6:", e["message"]!.ToString(), StringComparison.Ordinal);

        var src = Directory.CreateDirectory(_api.Dir.Sub("data")).FullName;
        var good = await PostJsonAsync("/api/v1/jobs/validate", new { yaml = $"name: x\nsource:\n  paths: [{src}]\ntarget:\n  address: h\n  id: {new string('a', 64)}\n  path: /r\n" });
        Assert.True(good["valid"]!.GetValue<bool>(), good.ToJsonString());
        Assert.Contains("queue_limit:", good["canonical"]!.ToString(), StringComparison.Ordinal);
        Assert.Empty(JsonNode.Parse(await _http.GetStringAsync("/api/v1/jobs"))!.AsArray());
    }

    [Fact]
    public async Task Errors_AreProblemJson_AndWrongTokenIs401()
    {
        using var anon = new HttpClient { BaseAddress = _http.BaseAddress };
        using var r = await anon.GetAsync("/api/v1/status");
        Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType!.MediaType);
        var p = JsonNode.Parse(await r.Content.ReadAsStringAsync())!;
        Assert.Equal(401, p["status"]!.GetValue<int>());
        Assert.Equal(p["detail"]!.ToString(), p["error"]!.ToString());

        using var nf = await _http.GetAsync("/api/v1/jobs/nope");
        Assert.Equal(HttpStatusCode.NotFound, nf.StatusCode);
        Assert.Equal("application/problem+json", nf.Content.Headers.ContentType!.MediaType);
        Assert.Contains("no job named 'nope'", JsonNode.Parse(await nf.Content.ReadAsStringAsync())!["detail"]!.ToString(), StringComparison.Ordinal);

        using var unknown = await _http.GetAsync("/api/v1/no-such-thing");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType!.MediaType);
        Assert.Contains("no API route GET /api/v1/no-such-thing", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var wrongMethod = await _http.DeleteAsync("/api/v1/status");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, wrongMethod.StatusCode);
        Assert.Equal("application/problem+json", wrongMethod.Content.Headers.ContentType!.MediaType);
        Assert.Equal("GET", string.Join(",", wrongMethod.Content.Headers.Allow));

        using var badJson = await _http.PostAsync("/api/v1/jobs/validate", new StringContent("{not json", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, badJson.StatusCode);
        Assert.Equal("application/problem+json", badJson.Content.Headers.ContentType!.MediaType);

        using var health = await anon.GetAsync("/api/v1/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Cors_AnswersPreflightForBearerCalls_WithoutCredentials()
    {
        using var pre = new HttpRequestMessage(HttpMethod.Options, "/api/v1/jobs");
        pre.Headers.Add("Origin", "http://other-agent:7421");
        pre.Headers.Add("Access-Control-Request-Method", "POST");
        pre.Headers.Add("Access-Control-Request-Headers", "authorization, content-type");
        using var r = await new HttpClient { BaseAddress = _http.BaseAddress }.SendAsync(pre);
        Assert.Equal(HttpStatusCode.NoContent, r.StatusCode);
        Assert.Equal("*", r.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("Authorization", r.Headers.GetValues("Access-Control-Allow-Headers").Single(), StringComparison.Ordinal);
        Assert.False(r.Headers.Contains("Access-Control-Allow-Credentials"));

        using var get = new HttpRequestMessage(HttpMethod.Get, "/api/v1/status");
        get.Headers.Add("Origin", "http://other-agent:7421");
        using var g = await _http.SendAsync(get);
        Assert.Equal(HttpStatusCode.OK, g.StatusCode);
        Assert.Equal("*", g.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    [Fact]
    public async Task ConsoleAssets_AreEmbedded_Compressed_Revalidated_WithTypesAndCsp()
    {
        using var plain = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None }) { BaseAddress = _http.BaseAddress };
        using var index = await plain.GetAsync("/");
        Assert.Equal("text/html", index.Content.Headers.ContentType!.MediaType);
        Assert.Contains("script-src 'self'", index.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Contains("js/app.js", await index.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var req = new HttpRequestMessage(HttpMethod.Get, "/js/app.js");
        req.Headers.AcceptEncoding.ParseAdd("br");
        using var js = await plain.SendAsync(req);
        Assert.Equal("text/javascript", js.Content.Headers.ContentType!.MediaType);
        Assert.Equal("br", js.Content.Headers.ContentEncoding.Single());
        Assert.Equal("no-cache", js.Headers.CacheControl!.ToString());
        var etag = js.Headers.ETag!;

        using var again = new HttpRequestMessage(HttpMethod.Get, "/js/app.js");
        again.Headers.IfNoneMatch.Add(etag);
        using var notModified = await plain.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);

        using var css = await plain.GetAsync("/app.css");
        Assert.Equal("text/css", css.Content.Headers.ContentType!.MediaType);
    }

    private async Task<JsonNode> PostJsonAsync(string path, object body)
    {
        using var r = await _http.PostAsJsonAsync(path, body);
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, text);
        return JsonNode.Parse(text)!;
    }
}
