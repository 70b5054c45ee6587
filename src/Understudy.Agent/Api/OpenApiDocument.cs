using System.Reflection;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Understudy.Core.Api;

namespace Understudy.Agent.Api;

/// <summary>
/// Builds the OpenAPI 3.1 document from the live endpoint table, so it can never drift from the
/// routes: every /api endpoint with its methods, path and query parameters, a JSON schema of
/// its request body made from the handler's parameter type, and one of each reply body made from the
/// record the route declares with <c>Produces</c> (the handlers return IResult, which names none; the
/// records are in Understudy.Core.Api). docs/api.md says what the fields mean.
/// </summary>
internal static class OpenApiDocument
{
    public static JsonObject Build(IEnumerable<Endpoint> endpoints, string version)
    {
        var paths = new JsonObject();
        var schemas = new JsonObject();
        foreach (var e in endpoints.OfType<RouteEndpoint>().OrderBy(e => e.RoutePattern.RawText, StringComparer.Ordinal))
        {
            var raw = e.RoutePattern.RawText ?? "";
            if (!raw.StartsWith("/api/", StringComparison.Ordinal) || e.Metadata.GetMetadata<IExcludeFromDescriptionMetadata>()?.ExcludeFromDescription == true)
                continue;
            var methods = e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"];
            var item = paths[raw] as JsonObject ?? new JsonObject();
            paths[raw] = item;
            foreach (var m in methods)
                item[m.ToLowerInvariant()] = Operation(e, schemas);
        }
        return new JsonObject
        {
            ["openapi"] = "3.1.0",
            ["info"] = new JsonObject { ["title"] = "Understudy agent management API", ["version"] = version, ["description"] = "See docs/api.md." },
            ["security"] = new JsonArray(new JsonObject { ["bearer"] = new JsonArray() }, new JsonObject { ["queryToken"] = new JsonArray() }),
            ["paths"] = paths,
            ["components"] = new JsonObject
            {
                ["securitySchemes"] = new JsonObject
                {
                    ["bearer"] = new JsonObject { ["type"] = "http", ["scheme"] = "bearer" },
                    ["queryToken"] = new JsonObject { ["type"] = "apiKey", ["in"] = "query", ["name"] = "token" },
                },
                ["schemas"] = schemas,
            },
        };
    }

    private static JsonObject Operation(RouteEndpoint e, JsonObject schemas)
    {
        var op = new JsonObject();
        if (e.Metadata.GetMetadata<IEndpointSummaryMetadata>()?.Summary is { } summary)
            op["summary"] = summary;
        var parameters = new JsonArray();
        var routeNames = e.RoutePattern.Parameters.Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var p in e.RoutePattern.Parameters)
            parameters.Add(Parameter(p.Name, "path", typeof(string), required: true));
        var handler = e.Metadata.OfType<MethodInfo>().FirstOrDefault();
        foreach (var p in handler?.GetParameters() ?? [])
        {
            var t = Nullable.GetUnderlyingType(p.ParameterType) ?? p.ParameterType;
            if (p.Name is null || routeNames.Contains(p.Name) || IsService(t))
                continue;
            if (IsSimple(t))
                parameters.Add(Parameter(p.Name, "query", t, required: false));
            else
            {
                schemas[t.Name] = JsonSchema.For(t);
                op["requestBody"] = new JsonObject
                {
                    ["required"] = true,
                    ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = new JsonObject { ["$ref"] = $"#/components/schemas/{t.Name}" } } },
                };
            }
        }
        if (parameters.Count > 0)
            op["parameters"] = parameters;
        var responses = Replies(e, schemas);
        responses["4XX"] = new JsonObject
        {
            ["description"] = "The request was refused; nothing was changed",
            ["content"] = new JsonObject { [ApiProblem.ContentType] = new JsonObject { ["schema"] = JsonSchema.For(typeof(ApiProblemBody)) } },
        };
        op["responses"] = responses;
        if (e.RoutePattern.RawText == "/api/v1/health")
            op["security"] = new JsonArray();
        return op;
    }

    /// <summary>
    /// The reply bodies the route declares, by status: one record's schema, or <c>oneOf</c> when the reply depends on the
    /// request (a dry run answers with the plan). A declared body with no record (the event stream) is text.
    /// </summary>
    private static JsonObject Replies(RouteEndpoint e, JsonObject schemas)
    {
        var responses = new JsonObject();
        foreach (var status in e.Metadata.OfType<IProducesResponseTypeMetadata>().GroupBy(m => m.StatusCode).OrderBy(g => g.Key))
        {
            var bodies = status.Select(m => m.Type).Where(t => t is not null && t != typeof(void)).Distinct().Select(t => JsonSchema.For(t!, schemas)).ToList();
            var contentType = status.SelectMany(m => m.ContentTypes).FirstOrDefault() ?? "application/json";
            JsonObject schema = bodies.Count switch
            {
                0 => new JsonObject { ["type"] = "string" },
                1 => bodies[0],
                _ => new JsonObject { ["oneOf"] = new JsonArray([.. bodies]) },
            };
            responses[status.Key.ToString(System.Globalization.CultureInfo.InvariantCulture)] = new JsonObject
            {
                ["description"] = status.Key switch
                {
                    StatusCodes.Status202Accepted => "Accepted: started, not finished",
                    StatusCodes.Status503ServiceUnavailable => "Served, but some part of the agent is down",
                    _ => "OK",
                },
                ["content"] = new JsonObject { [contentType] = new JsonObject { ["schema"] = schema } },
            };
        }
        if (responses.Count == 0)
            responses["200"] = new JsonObject { ["description"] = "OK" };
        return responses;
    }

    private static JsonObject Parameter(string name, string where, Type t, bool required) => new()
    {
        ["name"] = name,
        ["in"] = where,
        ["required"] = required,
        ["schema"] = JsonSchema.For(t),
    };

    private static bool IsService(Type t) =>
        t == typeof(CancellationToken) || t == typeof(HttpContext) || t.Namespace?.StartsWith("Understudy.Agent", StringComparison.Ordinal) == true
        || t.Namespace?.StartsWith("Microsoft.", StringComparison.Ordinal) == true;

    internal static bool IsSimple(Type t) => t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(decimal);
}
