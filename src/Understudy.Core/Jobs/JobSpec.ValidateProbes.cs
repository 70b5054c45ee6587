using System.Text.RegularExpressions;

namespace Understudy.Core.Jobs;

/// <summary>
/// The service probes of <c>failover.monitor.addresses</c>. Their values reach an HTTP request line and smbclient's
/// command line on the target, so each is held to what its syntax allows: no spaces or control characters in a path,
/// no quotes or semicolons (smbclient's command separator) in a share or file name.
/// </summary>
internal sealed partial record JobSpec
{
    private static void ValidateProbe(MonitorAddress a, string key)
    {
        bool http = a.Method is MonitorMethod.Http or MonitorMethod.Https;
        if (a.Method is MonitorMethod.Icmp or MonitorMethod.Script && a.Port is not null)
            Fail(key + ".port", "a port only applies to methods tcp, http, https, smb and nfs");
        if (a.Port is { } port && port is not (>= 1 and <= 65535))
            Fail(key + ".port", $"expected a TCP port from 1 to 65535, got '{port}'");
        if (a.Method == MonitorMethod.Tcp && a.Port is null)
            Fail(key + ".port", "expected a TCP port from 1 to 65535");
        OnlyFor(a.Path is not null && !http, key + ".path", "http and https");
        OnlyFor(a.Status is not null && !http, key + ".status", "http and https");
        OnlyFor(a.Body is not null && !http, key + ".body", "http and https");
        OnlyFor(a.Share is not null && a.Method != MonitorMethod.Smb, key + ".share", "smb");
        OnlyFor(a.File is not null && a.Method != MonitorMethod.Smb, key + ".file", "smb");
        OnlyFor(a.Credentials is not null && a.Method != MonitorMethod.Smb, key + ".credentials", "smb");
        OnlyFor(a.Run is not null && a.Method != MonitorMethod.Script, key + ".run", "script");
        // Named as a fail-over script is: inside the target's scripts directory, which its operator fills.
        if (a.Method == MonitorMethod.Script && PlanPolicy.ScriptProblem(a.Run ?? "") is { } script)
            Fail(key + ".run", a.Run is null ? "required with method script: the name of the script in the target's scripts directory, like check-db.sh" : script);
        if (http)
        {
            if (a.Path is not { } path || !UrlPath().IsMatch(path))
                Fail(key + ".path", $"expected a URL path from '/', without spaces or control characters, like /health, got '{a.Path}'");
            if (a.Status is { } status && !StatusRanges(status))
                Fail(key + ".status", $"expected HTTP status codes, like 200 or 200-399 or 200,204, got '{status}'");
            if (a.Body is { } body && (body.Length is 0 or > 1024 || body.Any(char.IsControl)))
                Fail(key + ".body", "expected 1 to 1,024 characters of text the body must contain, on one line");
        }
        if (a.Method == MonitorMethod.Smb)
        {
            if (a.Share is not { } share || !ShareName().IsMatch(share))
                Fail(key + ".share", $"expected the name of a share of the source (letters, digits, space, _ . $ -), got '{a.Share}'");
            if (a.File is { } file && (!SmbFile().IsMatch(file) || file.Split('/').Any(c => c is "" or "." or "..")))
                Fail(key + ".file", $"expected a file's path inside the share, like canary.txt or probe/canary (no '..', quotes, ';' or control characters), got '{file}'");
            if (a.Credentials is { } cred && (!cred.StartsWith('/') || cred.Any(char.IsControl)))
                Fail(key + ".credentials", $"expected the absolute path, on the target, of an smbclient authentication file (smbclient -A), got '{cred}'");
        }
    }

    private static void ValidateThreshold(MonitorSpec m)
    {
        if (m.Policy != MonitorPolicy.Weight)
        {
            if (m.Threshold is not null)
                Fail("failover.monitor.threshold", "a threshold only applies to 'policy: weight'");
            return;
        }
        int total = m.Addresses.Sum(a => a.Weight);
        if (m.Threshold is not { } t)
            Fail("failover.monitor.threshold", $"required with 'policy: weight': the sum of the lost addresses' weights at which the source counts as gone (1 to {total})");
        else if (t < 1 || t > total)
            Fail("failover.monitor.threshold", $"expected 1 to {total} (the sum of every address's weight), got {t}");
    }

    private static void OnlyFor(bool wrong, string key, string methods)
    {
        if (wrong)
            Fail(key, $"only applies to method {methods}");
    }

    /// <summary>"200", "200-399", "200,204,300-308": three-digit codes from 100 to 599.</summary>
    internal static bool StatusRanges(string text)
    {
        foreach (var part in text.Split(','))
        {
            var ends = part.Trim().Split('-');
            if (ends.Length > 2 || ends.Any(e => e.Length != 3 || !int.TryParse(e, out int c) || c is < 100 or > 599))
                return false;
            if (ends.Length == 2 && int.Parse(ends[0]) > int.Parse(ends[1]))
                return false;
        }
        return true;
    }

    [GeneratedRegex(@"^/[\x21-\x7E]*$")]
    private static partial Regex UrlPath();

    [GeneratedRegex(@"^[A-Za-z0-9 _.$-]{1,80}$")]
    private static partial Regex ShareName();

    [GeneratedRegex(@"^[^\x00-\x1F\x7F""';\\]{1,1024}$")]
    private static partial Regex SmbFile();
}
