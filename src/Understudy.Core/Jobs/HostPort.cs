using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Understudy.Core.Jobs;

/// <summary>
/// A host (name, IPv4 or IPv6) and a port. Written <c>host:port</c>, IPv6 as <c>[::1]:7420</c>;
/// the port may be left out. Serialized as that string in JSON.
/// </summary>
[JsonConverter(typeof(HostPortJsonConverter))]
internal readonly record struct HostPort(string Host, int Port)
{
    public bool IsEmpty => string.IsNullOrEmpty(Host);

    public static bool TryParse(string text, int defaultPort, out HostPort value, out string error)
    {
        value = default;
        error = "";
        text = text.Trim();
        string host;
        string? port = null;
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                error = "an IPv6 address in brackets is missing its ']'";
                return false;
            }
            host = text[1..close];
            var rest = text[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':')
                {
                    error = "expected ':PORT' after the ']'";
                    return false;
                }
                port = rest[1..];
            }
            if (!IPAddress.TryParse(host, out var ip) || ip.AddressFamily != AddressFamily.InterNetworkV6)
            {
                error = $"'{host}' is not an IPv6 address";
                return false;
            }
        }
        else
        {
            int colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0 && text.IndexOf(':', colon + 1) >= 0)
            {
                error = "write an IPv6 address in brackets, like [2001:db8::1]:7420";
                return false;
            }
            host = colon < 0 ? text : text[..colon];
            port = colon < 0 ? null : text[(colon + 1)..];
            if (!IsValidHost(host))
            {
                error = $"'{host}' is not a host name or IP address";
                return false;
            }
        }
        int p = defaultPort;
        if (port is not null && !TryParsePort(port, out p))
        {
            error = $"'{port}' is not a port (1-65535)";
            return false;
        }
        value = new HostPort(host.ToLowerInvariant(), p);
        return true;
    }

    public static bool TryParsePort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 1 and <= 65535;

    /// <summary>An IP address, or a DNS name of letters, digits, '-' and '.'.</summary>
    public static bool IsValidHost(string host)
    {
        if (host.Length is 0 or > 253)
            return false;
        // "10.1" parses as an IPv4 address (10.0.0.1) in .NET: insist on the four dotted parts people mean.
        if (host.Contains(':', StringComparison.Ordinal))
            return IPAddress.TryParse(host, out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6;
        if (host.All(c => char.IsAsciiDigit(c) || c == '.'))
            return host.Count(c => c == '.') == 3 && IPAddress.TryParse(host, out _);
        foreach (var label in host.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-')
                return false;
            foreach (char c in label)
            {
                if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_')
                    return false;
            }
        }
        return true;
    }

    public override string ToString() =>
        IsEmpty ? "" : Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}

internal sealed class HostPortJsonConverter : JsonConverter<HostPort>
{
    public override HostPort Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString() ?? "";
        if (text.Length == 0)
            return default;
        return HostPort.TryParse(text, JobSpec.DefaultPeerPort, out var v, out var error) ? v : throw new JsonException(error);
    }

    public override void Write(Utf8JsonWriter writer, HostPort value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}
