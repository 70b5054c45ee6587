using System.Net;
using System.Net.NetworkInformation;
using Microsoft.AspNetCore.Http;

namespace Understudy.Agent.Api;

/// <summary>
/// The Host names the API and console answer to: loopback names and addresses, this machine's host name and its own
/// addresses, and the names the admin configured (<c>agent --api-allowed-host NAME</c>). Anything else is refused with
/// 421 before the token is looked at: a page of evil.example whose DNS name was re-pointed at this agent (DNS
/// rebinding) sends Host: evil.example and gets nothing, not even the console's files or /health (issue 19, item 7).
/// </summary>
internal sealed class ApiHostFilter
{
    private readonly HashSet<string> _names = new(StringComparer.OrdinalIgnoreCase) { "localhost" };

    public ApiHostFilter(IEnumerable<string> configured)
    {
        _names.Add(Environment.MachineName);
        _names.Add(Dns.GetHostName());
        foreach (var n in configured)
            _names.Add(Normalize(n));
    }

    public bool Allows(HostString host)
    {
        // No Host at all (HTTP/1.0) is no browser, so no rebinding; Kestrel answers a malformed one with 400 itself.
        if (!host.HasValue)
            return true;
        var name = Normalize(host.Host);
        if (_names.Contains(name))
            return true;
        if (!IPAddress.TryParse(name, out var ip))
            return false;
        // An address literal is fine when it is this machine's: a rebinding page cannot send one it does not resolve to.
        // Looked up on each such request, so a DHCP renewal or a new address needs no restart.
        return IPAddress.IsLoopback(ip) || NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(i => i.GetIPProperties().UnicastAddresses).Any(a => a.Address.Equals(ip));
    }

    private static string Normalize(string host) => host.Trim().Trim('[', ']').TrimEnd('.');
}
