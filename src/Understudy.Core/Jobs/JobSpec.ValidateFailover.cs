using System.Net;
using System.Net.Sockets;

namespace Understudy.Core.Jobs;

internal sealed partial record JobSpec
{
    private void ValidateFailover(FailoverSpec f)
    {
        var m = f.Monitor;
        if (m.Addresses is null || m.Addresses.Count == 0)
            Fail("failover.monitor.addresses", "required: list at least one address of the source to watch, like [{ address: 192.0.2.10, method: icmp }]");
        var seen = new HashSet<string>();
        for (int i = 0; i < m.Addresses.Count; i++)
        {
            var a = m.Addresses[i];
            var key = $"failover.monitor.addresses[{i}]";
            if (!HostPort.IsValidHost(a.Address))
                Fail(key + ".address", $"expected an IP address or host name of the source (no port), got '{a.Address}'");
            CheckEnum(a.Method, key + ".method");
            ValidateProbe(a, key);
            if (a.Weight != 1 && m.Policy != MonitorPolicy.Weight)
                Fail(key + ".weight", $"a weight only counts under 'policy: weight' (the policy is '{m.Policy.ToString().ToLowerInvariant()}')");
            CheckRange(a.Weight, 1, 1000, key + ".weight");
            if (!seen.Add(a.Label))
                Fail(key, $"'{a.Address}' is watched twice the same way");
        }
        CheckRange(m.Interval, TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1), "failover.monitor.interval");
        CheckRange(m.Misses, 1, 1000, "failover.monitor.misses");
        if (m.Timeout is { } timeout)
        {
            CheckRange(timeout, TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1), "failover.monitor.timeout");
            if (timeout > m.Interval)
                Fail("failover.monitor.timeout", $"must not be longer than the interval ({JobValues.FormatDuration(m.Interval)}): a probe ends before the next one starts");
        }
        CheckEnum(m.Policy, "failover.monitor.policy");
        ValidateThreshold(m);
        if (m.Addresses.Any(a => a.Method == MonitorMethod.Smb) && m.EffectiveTimeout < TimeSpan.FromSeconds(1))
            Fail("failover.monitor.timeout", $"an smb probe runs smbclient, which needs about half a second to start and log on: set timeout (and interval) to at least 1s (it is {JobValues.FormatDuration(m.EffectiveTimeout)})");
        CheckEnum(f.Trigger, "failover.trigger");
        CheckEnum(f.Mode, "failover.mode");
        ValidateIdentity(f.Identity);
        if (f.Witness is { } w)
            ValidateWitness(w, m);
        ValidateScripts(f.Scripts);
        CheckRange(f.Arp.Count, 0, 100, "failover.arp.count");
        CheckRange(f.Arp.Interval, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(10), "failover.arp.interval");
    }

    private void ValidateIdentity(IdentitySpec id)
    {
        const string k = "failover.identity";
        var addresses = id.Addresses ?? ValueList<IdentityAddress>.Empty;
        for (int i = 0; i < addresses.Count; i++)
        {
            var a = addresses[i];
            var key = $"{k}.addresses[{i}]";
            if (!IsCidr(a.Address))
                Fail(key + ".address", $"expected an address with its prefix length, like 192.0.2.10/24 or 2001:db8::10/64, got '{a.Address}'");
            if (!IsInterfaceName(a.Interface))
                Fail(key + ".interface", $"expected the name of a network interface of the target, like eth0, got '{a.Interface}'");
            for (int j = 0; j < i; j++)
            {
                if (addresses[j].Address.Split('/')[0] == a.Address.Split('/')[0])
                    Fail(key + ".address", $"'{a.Address}' is listed twice");
            }
        }
        if (id.ServerName is { } server && !IsServerName(server))
            Fail(k + ".server_name", $"expected true, false or a server name of letters, digits and '-' (at most 15, the NetBIOS limit), got '{server}'");
        if (id.SourceName is { } source && !IsServerName(source))
            Fail(k + ".source_name", $"expected a server name of letters, digits and '-' (at most 15, the NetBIOS limit), got '{source}'");
        var shareNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var shares = id.Shares ?? ValueList<ShareSpec>.Empty;
        for (int i = 0; i < shares.Count; i++)
        {
            var s = shares[i];
            var key = $"{k}.shares[{i}]";
            if (string.IsNullOrWhiteSpace(s.Name) || s.Name.Length > 80 || s.Name.IndexOfAny(['[', ']', '/', '\\', '=']) >= 0 || s.Name.Any(char.IsControl))
                Fail(key + ".name", $"expected a share name (no brackets, slashes, '=', line breaks or control characters), got '{s.Name}'");
            if (!shareNames.Add(s.Name))
                Fail(key + ".name", $"share '{s.Name}' is listed twice (share names are case-insensitive)");
            CheckUnderSource(s.Path, key + ".path");
            if (PlanPolicy.ServedPathProblem(s.Path) is { } bad)
                Fail(key + ".path", bad);
            foreach (var o in s.Options ?? ValueList<ShareOption>.Empty)
            {
                if (PlanPolicy.ShareOptionProblem(o.Name, o.Value) is { } problem)
                    Fail(key + ".options", problem);
            }
        }
        var exports = id.NfsExports ?? ValueList<NfsExportSpec>.Empty;
        for (int i = 0; i < exports.Count; i++)
        {
            var e = exports[i];
            var key = $"{k}.nfs_exports[{i}]";
            CheckUnderSource(e.Path, key + ".path");
            if (PlanPolicy.ServedPathProblem(e.Path) is { } bad)
                Fail(key + ".path", bad);
            if (PlanPolicy.NfsClientsProblem(e.Clients) is { } clients)
                Fail(key + ".clients", clients);
            if (PlanPolicy.NfsOptionsProblem(e.Options) is { } options)
                Fail(key + ".options", options);
        }
        // The replica's paths (target.path and below) are what the share and export files name.
        if ((shares.Count > 0 || exports.Count > 0) && PlanPolicy.ServedPathProblem(Target.Path) is { } target)
            Fail("target.path", target + " (the fail-over serves it through Samba or NFS)");
    }

    private void ValidateScripts(ScriptsSpec s)
    {
        Check(s.PreFailover, "pre_failover");
        Check(s.PostFailover, "post_failover");
        Check(s.PreFailback, "pre_failback");
        Check(s.PostFailback, "post_failback");

        static void Check(ValueList<ScriptSpec>? scripts, string name)
        {
            scripts ??= ValueList<ScriptSpec>.Empty;
            for (int i = 0; i < scripts.Count; i++)
            {
                var key = $"failover.scripts.{name}[{i}]";
                if (PlanPolicy.ScriptProblem(scripts[i].Run) is { } problem)
                    Fail(key + ".run", problem);
                CheckRange(scripts[i].Timeout, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1), key + ".timeout");
            }
        }
    }

    private void CheckUnderSource(string path, string key)
    {
        CheckNormalizedPath(path, key);
        if (!Source.Paths.Any(root => JobValues.IsUnder(path, root)))
            Fail(key, $"'{path}' is not under any of source.paths ({string.Join(", ", Source.Paths)}): only replicated data can be served after a fail-over");
    }

    private static bool IsCidr(string text)
    {
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || !IPAddress.TryParse(text[..slash], out var ip) || !HostPort.IsValidHost(text[..slash]))
            return false;
        int max = ip.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32;
        return int.TryParse(text[(slash + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int prefix)
            && prefix >= 1 && prefix <= max;
    }

    // Linux IFNAMSIZ is 16 with the NUL; '/' and whitespace are refused by the kernel.
    private static bool IsInterfaceName(string name) =>
        name.Length is >= 1 and <= 15 && name != "." && name != ".." && !name.Any(c => c == '/' || c == ':' || char.IsWhiteSpace(c) || char.IsControl(c));

    private static bool IsServerName(string name) =>
        name.Length is >= 1 and <= 15 && char.IsAsciiLetterOrDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');
}
