using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Understudy.Console.Tests.Support;
using Understudy.Testing;
using Xunit;

namespace Understudy.Console.Tests.Api;

/// <summary>
/// The OpenAPI document gives the schema of every route's reply body (from the record the route declares), and what a
/// real agent answers matches it: every field it writes is described with its type, every required field is written.
/// </summary>
public sealed class OpenApiReplyTests : IAsyncLifetime
{
    private readonly AdminApi _api = new();
    private AgentProcess _agent = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync() => (_agent, _http) = await _api.StartAsync();

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task OpenApi_GivesEveryRoutesReplyBody_AndTheAgentsRepliesMatchIt()
    {
        var doc = JsonNode.Parse(await _http.GetStringAsync("/api/v1/openapi.json"))!;
        var schemas = doc["components"]!["schemas"]!.AsObject();
        foreach (var (path, item) in doc["paths"]!.AsObject())
            foreach (var (method, op) in item!.AsObject())
            {
                var ok = op!["responses"]!.AsObject().Where(r => r.Key.StartsWith('2')).ToList();
                Assert.True(ok.Count > 0, $"{method} {path}: no 2xx reply");
                foreach (var (_, reply) in ok)
                    Assert.True(reply!["content"]?.AsObject().Single().Value?["schema"] is not null, $"{method} {path}: a reply with no schema");
            }
        Assert.Equal(2, Reply(doc, "/api/v1/failover/{name}", "post")["oneOf"]!.AsArray().Count); // the plan (dry run) or the outcome
        Assert.Equal("#/components/schemas/MirrorStarted", Reply(doc, "/api/v1/jobs/{name}/mirror", "post", "202")["$ref"]!.ToString());
        Assert.Equal("text/event-stream", doc["paths"]!["/api/v1/events/stream"]!["get"]!["responses"]!["200"]!["content"]!.AsObject().Single().Key);

        // Something in each list: a trusted peer, and a job (its target is never reached: it stays connecting).
        await PostAsync("/api/v1/trust", new { id = new string('b', 64), name = "beta" });
        var src = Directory.CreateDirectory(_api.Dir.Sub("data")).FullName;
        await PostAsync("/api/v1/jobs", new { yaml = $"name: x\nsource:\n  paths: [{src}]\ntarget:\n  address: 127.0.0.1:9\n  id: {new string('b', 64)}\n  path: /r\n" });

        foreach (var path in new[] { "/api/v1/agent", "/api/v1/health", "/api/v1/status", "/api/v1/events", "/api/v1/notify", "/api/v1/trust", "/api/v1/jobs",
            "/api/v1/jobs/x", "/api/v1/jobs/x/status", "/api/v1/failover" })
        {
            var body = JsonNode.Parse(await _http.GetStringAsync(path));
            Matches(body, Reply(doc, path.Replace("/x", "/{name}", StringComparison.Ordinal), "get"), schemas, path);
        }
        var validated = await PostAsync("/api/v1/jobs/validate", new { yaml = "name: x\nsource:\n  paths: [/nonexistent-ustd]\n" });
        Matches(validated, Reply(doc, "/api/v1/jobs/validate", "post"), schemas, "POST /api/v1/jobs/validate");
        Assert.NotEmpty(validated!["errors"]!.AsArray());
    }

    private static JsonNode Reply(JsonNode doc, string path, string method, string status = "200") =>
        doc["paths"]![path]![method]!["responses"]![status]!["content"]!["application/json"]!["schema"]!;

    private async Task<JsonNode?> PostAsync(string path, object body)
    {
        using var r = await _http.PostAsJsonAsync(path, body);
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, $"{path}: {(int)r.StatusCode} {text}");
        return JsonNode.Parse(text);
    }

    /// <summary>The value against the schema as OpenApiDocument writes them ($ref, object, array, scalars, {} for any JSON).</summary>
    private static void Matches(JsonNode? value, JsonNode schema, JsonObject schemas, string where)
    {
        if (schema["$ref"] is { } r)
        {
            Matches(value, schemas[r.ToString().Split('/')[^1]] ?? throw new Xunit.Sdk.XunitException($"{where}: {r} is not in the document"), schemas, where);
            return;
        }
        if (value is null)
            return; // a field that may be null is left out of "required", checked by the object holding it
        switch (schema["type"]?.ToString())
        {
            case null:
                return; // any JSON
            case "object" when schema["additionalProperties"] is { } values:
                foreach (var (key, v) in value.AsObject())
                    Matches(v, values, schemas, $"{where}.{key}");
                return;
            case "object":
                var props = schema["properties"]!.AsObject();
                var fields = value.AsObject();
                foreach (var (key, v) in fields)
                {
                    Assert.True(props.ContainsKey(key), $"{where}: the agent writes '{key}', which the schema does not describe");
                    Matches(v, props[key]!, schemas, $"{where}.{key}");
                }
                foreach (var required in schema["required"]!.AsArray().Select(n => n!.ToString()))
                    Assert.True(fields[required] is not null, $"{where}: '{required}' is required but was {(fields.ContainsKey(required) ? "null" : "not written")}");
                return;
            case "array":
                foreach (var v in value.AsArray())
                    Matches(v, schema["items"]!, schemas, $"{where}[]");
                return;
            case var scalar:
                var kind = value.GetValueKind();
                Assert.True(scalar switch
                {
                    "string" => kind == JsonValueKind.String && (schema["enum"] is not { } words || words.AsArray().Any(w => w!.ToString() == value.ToString())),
                    "boolean" => kind is JsonValueKind.True or JsonValueKind.False,
                    "integer" => kind == JsonValueKind.Number && value.GetValue<JsonElement>().TryGetInt64(out _),
                    "number" => kind == JsonValueKind.Number,
                    _ => false,
                }, $"{where}: {value.ToJsonString()} is not a {scalar}{(schema["enum"] is { } e ? " of " + e.ToJsonString() : "")}");
                return;
        }
    }
}
