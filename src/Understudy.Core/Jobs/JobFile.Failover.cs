using YamlDotNet.RepresentationModel;

namespace Understudy.Core.Jobs;

internal static partial class JobFile
{
    private static FailoverSpec? ReadFailover(YamlReader r, YamlNode? node)
    {
        const string P = "failover";
        if (r.Mapping(node, P, "'{ monitor: { addresses: [...] } }'") is not { } map)
            return null;
        var keys = r.Keys(map, P, "monitor", "trigger", "mode", "identity", "scripts", "arp", "witness");
        var d = new FailoverSpec();
        if (!keys.TryGetValue("monitor", out var monitorNode) || YamlReader.IsNull(monitorNode))
            throw r.Error(monitorNode ?? map, "failover.monitor", "required: which addresses of the source to watch, like 'monitor: { addresses: [192.0.2.10] }'");
        var witness = ReadWitness(r, keys.GetValueOrDefault("witness"));
        return new FailoverSpec
        {
            Monitor = ReadMonitor(r, monitorNode),
            // A witness is what makes an automatic take-over safe (it tells a dead source from a cut link), so it is the default then.
            Trigger = r.Enum<FailoverTrigger>(keys.GetValueOrDefault("trigger"), "failover.trigger") ?? (witness is null ? d.Trigger : FailoverTrigger.Automatic),
            Witness = witness,
            Mode = r.Enum<FailoverMode>(keys.GetValueOrDefault("mode"), "failover.mode") ?? d.Mode,
            Identity = ReadIdentity(r, keys.GetValueOrDefault("identity")),
            Scripts = ReadScripts(r, keys.GetValueOrDefault("scripts")),
            Arp = ReadArp(r, keys.GetValueOrDefault("arp")),
        };
    }

    private static MonitorSpec ReadMonitor(YamlReader r, YamlNode node)
    {
        const string P = "failover.monitor";
        var map = r.Mapping(node, P, "'{ addresses: [192.0.2.10] }'")!;
        var keys = r.Keys(map, P, "addresses", "interval", "timeout", "misses", "policy", "threshold");
        var d = new MonitorSpec();
        var items = r.Sequence(keys.GetValueOrDefault("addresses"), P + ".addresses", "[{ address: 192.0.2.10, method: icmp }]");
        var addresses = new List<MonitorAddress>();
        for (int i = 0; i < items.Count; i++)
        {
            var path = $"{P}.addresses[{i}]";
            // Shorthand: a bare address is watched with ICMP.
            if (items[i] is YamlScalarNode)
            {
                addresses.Add(new MonitorAddress { Address = r.String(items[i], path) ?? throw r.Error(items[i], path, "expected an address, got an empty value") });
                continue;
            }
            var item = r.Mapping(items[i], path, "'{ address: 192.0.2.10, method: icmp }'") ?? throw r.Error(items[i], path, "expected an address, got an empty value");
            var k = r.Keys(item, path, "address", "method", "port", "path", "status", "body", "share", "file", "credentials", "run", "weight");
            var method = r.Enum<MonitorMethod>(k.GetValueOrDefault("method"), path + ".method") ?? MonitorMethod.Icmp;
            addresses.Add(new MonitorAddress
            {
                Address = r.RequiredString(k, item, path, "address", "an IP address or host name of the source"),
                Method = method,
                Port = r.Int(k.GetValueOrDefault("port"), path + ".port") ?? MonitorAddress.DefaultPort(method),
                Path = r.String(k.GetValueOrDefault("path"), path + ".path") ?? (method is MonitorMethod.Http or MonitorMethod.Https ? "/" : null),
                Status = r.String(k.GetValueOrDefault("status"), path + ".status"),
                Body = r.String(k.GetValueOrDefault("body"), path + ".body"),
                Share = r.String(k.GetValueOrDefault("share"), path + ".share"),
                File = r.String(k.GetValueOrDefault("file"), path + ".file"),
                Credentials = r.String(k.GetValueOrDefault("credentials"), path + ".credentials"),
                Run = r.String(k.GetValueOrDefault("run"), path + ".run"),
                Weight = r.Int(k.GetValueOrDefault("weight"), path + ".weight") ?? 1,
            });
        }
        return new MonitorSpec
        {
            Addresses = addresses.ToValueList(),
            Interval = r.Duration(keys.GetValueOrDefault("interval"), P + ".interval") ?? d.Interval,
            Timeout = r.Duration(keys.GetValueOrDefault("timeout"), P + ".timeout"),
            Misses = r.Int(keys.GetValueOrDefault("misses"), P + ".misses") ?? d.Misses,
            Policy = r.Enum<MonitorPolicy>(keys.GetValueOrDefault("policy"), P + ".policy") ?? d.Policy,
            Threshold = r.Int(keys.GetValueOrDefault("threshold"), P + ".threshold"),
        };
    }

    private static IdentitySpec ReadIdentity(YamlReader r, YamlNode? node)
    {
        const string P = "failover.identity";
        if (r.Mapping(node, P, "'{ addresses: [...], server_name: true }'") is not { } map)
            return new IdentitySpec();
        var keys = r.Keys(map, P, "addresses", "server_name", "source_name", "shares", "nfs_exports");
        var sourceName = r.String(keys.GetValueOrDefault("source_name"), P + ".source_name");
        string? serverName = null;
        if (keys.TryGetValue("server_name", out var serverNode) && r.String(serverNode, P + ".server_name") is { } text)
        {
            bool? flag = YamlReader.TryBool(text);
            if (flag == true)
                serverName = sourceName ?? throw r.Error(serverNode, P + ".server_name", "'server_name: true' takes over the source's name: say which in 'source_name', or write the name itself here");
            else if (flag is null)
                serverName = text;
        }
        return new IdentitySpec
        {
            Addresses = ReadList(r, keys.GetValueOrDefault("addresses"), P + ".addresses", "[{ address: 192.0.2.10/24, interface: eth0 }]", (item, path) =>
            {
                var k = r.Keys(item, path, "address", "interface", "force");
                return new IdentityAddress
                {
                    Address = r.RequiredString(k, item, path, "address", "the address with its prefix, like 192.0.2.10/24"),
                    Interface = r.RequiredString(k, item, path, "interface", "the target's network interface to add it on, like eth0"),
                    Force = r.Bool(k.GetValueOrDefault("force"), path + ".force") ?? false,
                };
            }),
            ServerName = serverName,
            SourceName = sourceName,
            Shares = ReadList(r, keys.GetValueOrDefault("shares"), P + ".shares", "[{ name: finance, path: /srv/shares/finance }]", (item, path) =>
            {
                var k = r.Keys(item, path, "name", "path", "options");
                r.RequiredString(k, item, path, "path", "the share's path on the source");
                return new ShareSpec
                {
                    Name = r.RequiredString(k, item, path, "name", "the share's name, as clients see it"),
                    Path = r.AbsolutePath(k["path"], path + ".path")!,
                    Options = ReadShareOptions(r, k.GetValueOrDefault("options"), path + ".options"),
                };
            }),
            NfsExports = ReadList(r, keys.GetValueOrDefault("nfs_exports"), P + ".nfs_exports", "[{ path: /srv/www, clients: \"*\" }]", (item, path) =>
            {
                var k = r.Keys(item, path, "path", "clients", "options");
                r.RequiredString(k, item, path, "path", "the exported path on the source");
                var d = new NfsExportSpec();
                return new NfsExportSpec
                {
                    Path = r.AbsolutePath(k["path"], path + ".path")!,
                    Clients = r.String(k.GetValueOrDefault("clients"), path + ".clients") ?? d.Clients,
                    Options = r.String(k.GetValueOrDefault("options"), path + ".options") ?? d.Options,
                };
            }),
        };
    }

    private static ValueList<ShareOption> ReadShareOptions(YamlReader r, YamlNode? node, string path)
    {
        if (r.Mapping(node, path, "'{ \"read only\": \"no\" }'") is not { } map)
            return ValueList<ShareOption>.Empty;
        var options = new List<ShareOption>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (keyNode, value) in map.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } name })
                throw r.Error(keyNode, path, "expected an smb.conf parameter name as the key");
            var keyPath = $"{path}.{name}";
            if (!seen.Add(name))
                throw r.Error(keyNode, keyPath, $"duplicate option '{name}' (smb.conf parameters are case-insensitive)");
            r.Remember(keyPath, value);
            options.Add(new ShareOption(name, r.String(value, keyPath) ?? ""));
        }
        return options.ToValueList();
    }

    private static ScriptsSpec ReadScripts(YamlReader r, YamlNode? node)
    {
        const string P = "failover.scripts";
        var d = new ScriptsSpec();
        if (r.Mapping(node, P, "'{ pre_failover: [{ run: /etc/understudy/pre.sh }] }'") is not { } map)
            return d;
        var keys = r.Keys(map, P, "pre_failover", "post_failover", "pre_failback", "post_failback", "abort_on_pre_failure");
        return new ScriptsSpec
        {
            PreFailover = Scripts("pre_failover"),
            PostFailover = Scripts("post_failover"),
            PreFailback = Scripts("pre_failback"),
            PostFailback = Scripts("post_failback"),
            AbortOnPreFailure = r.Bool(keys.GetValueOrDefault("abort_on_pre_failure"), P + ".abort_on_pre_failure") ?? d.AbortOnPreFailure,
        };

        ValueList<ScriptSpec> Scripts(string key)
        {
            var items = r.Sequence(keys.GetValueOrDefault(key), $"{P}.{key}", "[{ run: stop-app.sh, timeout: 30s }]");
            var scripts = new List<ScriptSpec>();
            for (int i = 0; i < items.Count; i++)
            {
                var path = $"{P}.{key}[{i}]";
                // Shorthand: a bare name runs with the default timeout. The name is checked by JobSpec.Validate (a script of
                // the target's scripts directory), which reports an absolute path with the reason.
                if (items[i] is YamlScalarNode)
                {
                    scripts.Add(new ScriptSpec { Run = r.String(items[i], path) ?? throw r.Error(items[i], path, "expected a script name, got an empty value") });
                    continue;
                }
                var item = r.Mapping(items[i], path, "'{ run: stop-app.sh }'") ?? throw r.Error(items[i], path, "expected a script, got an empty value");
                var k = r.Keys(item, path, "run", "timeout");
                r.RequiredString(k, item, path, "run", "the name of the script to run, in the target's scripts directory");
                scripts.Add(new ScriptSpec
                {
                    Run = r.String(k["run"], path + ".run")!,
                    Timeout = r.Duration(k.GetValueOrDefault("timeout"), path + ".timeout") ?? ScriptSpec.DefaultTimeout,
                });
            }
            return scripts.ToValueList();
        }
    }

    private static ArpSpec ReadArp(YamlReader r, YamlNode? node)
    {
        var d = new ArpSpec();
        if (r.Mapping(node, "failover.arp", "'{ count: 5, interval: 200ms }'") is not { } map)
            return d;
        var keys = r.Keys(map, "failover.arp", "count", "interval");
        return new ArpSpec
        {
            Count = r.Int(keys.GetValueOrDefault("count"), "failover.arp.count") ?? d.Count,
            Interval = r.Duration(keys.GetValueOrDefault("interval"), "failover.arp.interval") ?? d.Interval,
        };
    }

    /// <summary>A list whose items are mappings, each read by <paramref name="read"/>.</summary>
    private static ValueList<T> ReadList<T>(YamlReader r, YamlNode? node, string path, string example, Func<YamlMappingNode, string, T> read)
    {
        var items = r.Sequence(node, path, example);
        var result = new List<T>(items.Count);
        for (int i = 0; i < items.Count; i++)
        {
            var itemPath = $"{path}[{i}]";
            var item = r.Mapping(items[i], itemPath, example.Trim('[', ']')) ?? throw r.Error(items[i], itemPath, "expected an entry, got an empty value");
            result.Add(read(item, itemPath));
        }
        return result.ToValueList();
    }
}
