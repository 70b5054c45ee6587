using System.Net;

namespace Understudy.Testing.Lab;

/// <summary>
/// Reads the IPv4 addresses a namespace owns from /proc/PID/net/fib_trie, where PID is any process
/// in that namespace: each local address shows as "|-- A.B.C.D" followed by "/32 host LOCAL".
/// </summary>
public static class LocalAddresses
{
    public static HashSet<IPAddress> Of(int pidInNamespace)
    {
        var set = new HashSet<IPAddress>();
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pidInNamespace}/net/fib_trie");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LabException($"cannot read the local addresses of namespace of pid {pidInNamespace}: {e.Message}");
        }
        IPAddress? last = null;
        foreach (var raw in text.AsSpan().EnumerateLines())
        {
            var line = raw.Trim();
            if (line.StartsWith("|-- "))
                last = IPAddress.TryParse(line[4..], out var a) ? a : null;
            else if (last is not null && line.StartsWith("/32 host LOCAL"))
                set.Add(last);
        }
        return set;
    }
}
