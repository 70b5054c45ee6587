using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Understudy.Core.Api;

namespace Understudy.Agent.Api;

/// <summary>
/// Every API error is an RFC 9457 problem document (application/problem+json). It also carries
/// <c>error</c> (the same text as <c>detail</c>) because the CLI and simple scripts read that one field,
/// and <c>location</c> when the error points into a job file (file, line, column, key).
/// </summary>
internal static class ApiProblem
{
    public const string ContentType = "application/problem+json";

    public static IResult Result(int status, string message, object? location = null) =>
        Results.Json(Body(status, message, location), statusCode: status, contentType: ContentType);

    public static Task WriteAsync(HttpContext http, int status, string message, object? location = null)
    {
        http.Response.StatusCode = status;
        return http.Response.WriteAsJsonAsync(Body(status, message, location), options: null, contentType: ContentType);
    }

    private static ApiProblemBody Body(int status, string message, object? location) =>
        new("about:blank", ReasonPhrases.GetReasonPhrase(status), status, message, message, location);
}
