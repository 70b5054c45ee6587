using YamlDotNet.RepresentationModel;

namespace Understudy.Core.Jobs;

internal static partial class JobFile
{
    private static WitnessSpec? ReadWitness(YamlReader r, YamlNode? node)
    {
        const string P = "failover.witness";
        if (r.Mapping(node, P, "'{ endpoints: [http://192.0.2.50:2379], lease: 10s, renew: 2s }'") is not { } map)
            return null;
        var keys = r.Keys(map, P, "endpoints", "lease", "renew", "prefix");
        var d = new WitnessSpec();
        var items = r.Sequence(keys.GetValueOrDefault("endpoints"), P + ".endpoints", "[http://192.0.2.50:2379]");
        var endpoints = new List<string>();
        for (int i = 0; i < items.Count; i++)
            endpoints.Add(r.String(items[i], $"{P}.endpoints[{i}]") ?? throw r.Error(items[i], $"{P}.endpoints[{i}]", "expected an etcd client URL like http://192.0.2.50:2379, got an empty value"));
        if (endpoints.Count == 0)
            throw r.Error(keys.GetValueOrDefault("endpoints") ?? map, P + ".endpoints", "required: the etcd cluster's client URLs, like [http://192.0.2.50:2379]");
        return new WitnessSpec
        {
            Endpoints = endpoints.ToValueList(),
            Lease = r.Duration(keys.GetValueOrDefault("lease"), P + ".lease") ?? d.Lease,
            Renew = r.Duration(keys.GetValueOrDefault("renew"), P + ".renew") ?? d.Renew,
            Prefix = r.String(keys.GetValueOrDefault("prefix"), P + ".prefix") ?? d.Prefix,
        };
    }
}
