using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;
using Understudy.Agent.Common;
using Understudy.Core.Api;
using Understudy.Core.Jobs;

namespace Understudy.Agent.Api;

internal sealed partial class ApiRoutes
{
    /// <summary>Routes the web console needs beyond the CLI's: dry-run validation and the API's own description.</summary>
    private void MapConsole(RouteGroupBuilder api)
    {
        api.MapPost("/jobs/validate", (ApplyRequest req) => Results.Ok(Validate(req))).Produces<ValidateResult>()
            .WithSummary("Check a job file without applying it: every error as file:line:key");
        api.MapGet("/openapi.json", (EndpointDataSource endpoints) => Results.Json(OpenApiDocument.Build(endpoints.Endpoints, version))).Produces<JsonObject>()
            .WithSummary("This API described as OpenAPI 3.1");
        // Last in routing order: an unknown route or a wrong method is a problem document too, never an empty 404/405.
        api.MapFallback("{**path}", (HttpContext http, EndpointDataSource endpoints) => NoRoute(http, endpoints.Endpoints))
            .ExcludeFromDescription();
    }

    private static IResult NoRoute(HttpContext http, IReadOnlyList<Endpoint> endpoints)
    {
        var path = http.Request.Path.Value ?? "";
        var allowed = endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IHttpMethodMetadata>() is not null && Matches(e.RoutePattern.RawText, path))
            .SelectMany(e => e.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods)
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Order(StringComparer.Ordinal)
            .ToList();
        if (allowed.Count == 0)
            return ApiProblem.Result(StatusCodes.Status404NotFound, $"no API route {http.Request.Method} {path} (the routes: /api/v1/openapi.json)");
        http.Response.Headers.Allow = string.Join(", ", allowed);
        return ApiProblem.Result(StatusCodes.Status405MethodNotAllowed, $"{path} does not take {http.Request.Method}; it takes {string.Join(", ", allowed)}");
    }

    private static bool Matches(string? pattern, string path) =>
        pattern is not null && !pattern.Contains("{**", StringComparison.Ordinal)
        && new TemplateMatcher(TemplateParser.Parse(pattern), new RouteValueDictionary()).TryMatch(path, new RouteValueDictionary());

    private ValidateResult Validate(ApplyRequest req)
    {
        var file = req.FileName ?? "job.yaml";
        JobSpec spec;
        try
        {
            spec = JobFile.Parse(req.Yaml ?? "", file);
        }
        catch (JobFileException e)
        {
            return new ValidateResult(false, null, [new JobFileError("error", e.Message, e.FileName, e.Line, e.Column, e.KeyPath)], null);
        }
        // The same checks apply makes after parsing: the source side must exist on this agent.
        var errors = spec.Source.Paths
            .Where(p => !Directory.Exists(p))
            .Select(p => new JobFileError("error", $"{file}: key 'source.paths': {p} is not a directory on this agent", file, 0, 0, "source.paths"))
            .ToList();
        if (jobs.Runners.Any(r => r.Job.Name == spec.Name))
            errors.Add(new JobFileError("warning", $"{file}: key 'name': a job named '{spec.Name}' exists; applying replaces it", file, 0, 0, "name"));
        bool valid = errors.All(e => e.Severity != "error");
        return new ValidateResult(valid, spec.Name, errors, JobFile.ToYaml(spec));
    }
}
