using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Understudy.Agent.Hosting;
using Understudy.Core.Jobs;

namespace Understudy.Agent.Api;

/// <summary>One problem found in a job file, placed as JobFile.Parse places it; severity "error" or "warning".</summary>
internal sealed record JobFileError(string Severity, string Message, string? File, int Line, int Column, string Key);

/// <summary>The answer of POST /jobs/validate: never an error status for an invalid job, so a form can call it per keystroke.</summary>
internal sealed record ValidateResult(bool Valid, string? Name, IReadOnlyList<JobFileError> Errors, string? Canonical);

internal static partial class ApiRoutes
{
    /// <summary>Routes the web console needs beyond the CLI's: dry-run validation and the API's own description.</summary>
    private static void MapConsole(RouteGroupBuilder api)
    {
        api.MapPost("/jobs/validate", (ApplyRequest req, AgentHost a) => Results.Ok(Validate(req, a)))
            .WithSummary("Check a job file without applying it: every error as file:line:key");
        api.MapGet("/openapi.json", (EndpointDataSource endpoints) => Results.Json(OpenApiDocument.Build(endpoints.Endpoints, AgentHost.Version)))
            .WithSummary("This API described as OpenAPI 3.1");
    }

    private static ValidateResult Validate(ApplyRequest req, AgentHost a)
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
        if (a.Jobs.Runners.Any(r => r.Job.Name == spec.Name))
            errors.Add(new JobFileError("warning", $"{file}: key 'name': a job named '{spec.Name}' exists; applying replaces it", file, 0, 0, "name"));
        bool valid = errors.All(e => e.Severity != "error");
        return new ValidateResult(valid, spec.Name, errors, JobFile.ToYaml(spec));
    }
}
