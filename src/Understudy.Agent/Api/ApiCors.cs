using Microsoft.AspNetCore.Http;

namespace Understudy.Agent.Api;

/// <summary>
/// CORS for /api, so a console served by one agent can manage others. Any origin is allowed because
/// the API has no ambient credential: no cookies, and the browser never attaches the token by itself
/// (the console sends it explicitly as a bearer header, or in ?token= for EventSource). A page that
/// does not already hold the token can call nothing but /health.
/// </summary>
internal static class ApiCors
{
    /// <summary>Adds the CORS headers; returns true when the request was a preflight and is answered.</summary>
    public static bool Handle(HttpContext http)
    {
        if (!http.Request.Headers.Origin.Any())
            return false;
        var h = http.Response.Headers;
        h.AccessControlAllowOrigin = "*";
        h.AccessControlExposeHeaders = "Content-Type";
        if (!HttpMethods.IsOptions(http.Request.Method) || !http.Request.Headers.AccessControlRequestMethod.Any())
            return false;
        h.AccessControlAllowMethods = "GET, POST, PUT, DELETE";
        h.AccessControlAllowHeaders = "Authorization, Content-Type";
        h.AccessControlMaxAge = "600";
        http.Response.StatusCode = StatusCodes.Status204NoContent;
        return true;
    }
}
