using System.Net;

namespace Understudy.Cli;

/// <summary>
/// Where <c>--api</c> points, and whether the bearer token may be sent there. The token is the agent's root: it never
/// goes over plain HTTP to another machine. HOST:PORT without a scheme means http:// only for a loopback host (the
/// default agent, 127.0.0.1:7421, is plain HTTP there) and https:// for any other (an agent off loopback serves HTTPS
/// only); an explicit http:// URL to a host that is not loopback is refused before anything is sent (docs/cli.md).
/// </summary>
internal static class ApiAddress
{
    public static string Resolve(string api)
    {
        var given = api.Trim();
        if (!given.Contains("://", StringComparison.Ordinal))
            given = (Uri.TryCreate("tcp://" + given, UriKind.Absolute, out var bare) && IsLoopback(bare.Host) ? "http://" : "https://") + given;
        if (!Uri.TryCreate(given, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new CliException($"--api {api}: expected HOST:PORT or an http(s) URL, e.g. https://host:7421");
        if (uri.Scheme == "http" && !IsLoopback(uri.Host))
            throw new CliException($"refusing to send the API token over plain HTTP to {uri.Host}: use https://{uri.Authority} " +
                "(an agent off loopback serves HTTPS only; --agent-id pins its certificate), or an SSH tunnel to its loopback address");
        return given;
    }

    /// <summary>localhost or a loopback address: the token does not leave the machine.</summary>
    public static bool IsLoopback(string host)
    {
        host = host.Trim('[', ']').TrimEnd('.');
        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip);
    }
}
