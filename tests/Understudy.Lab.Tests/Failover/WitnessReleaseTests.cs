using Understudy.Agent.Events;
using System.Text;
using System.Text.Json.Nodes;
using Understudy.Testing;
using Understudy.Testing.Lab;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.LabTests.Failover;

/// <summary>
/// The target's witness key has no lease: after a take-over that won it and then aborted, the key must be given back
/// or the source, which fenced itself, can never take it again. A release that fails (the witness out of reach) is
/// tried again until it works.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class WitnessReleaseTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);

    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents | LabNeeds.Etcd)]
    public async Task Witness_ReleaseFailsAfterAbortedTakeover_RetriedUntilTheSourceTakesItsKeyBack()
    {
        await using var f = await FailoverLab.CreateAsync();
        var etcd = await EtcdWitness.StartAsync(f.Lab);
        // The take-over's first step cuts this target from the witness and refuses: the take-over aborts with the key
        // won and no way to give it back, until the test lifts the route.
        var script = f.Script("cut-witness.sh", $"/usr/sbin/ip route add blackhole {etcd.Address}/32\nexit 3");
        await f.ApplyAndProtectAsync(f.FailoverYaml(scripts: $"pre_failover: [ {{ run: {script}, timeout: 10s }} ]", abortOnPreFailure: true) + etcd.Yaml);
        await FailoverProbe.WaitEventAsync(f.Source, FailoverLab.Job, EventCode.WitnessAcquired, Long, "holds the witness key");

        await f.Lab.CutLinkAsync(f.Lab.Source);
        await FailoverProbe.WaitEventAsync(f.Target, FailoverLab.Job, EventCode.WitnessTaken, Long);
        await FailoverProbe.WaitEventAsync(f.Target, FailoverLab.Job, EventCode.FailoverAborted, Long);
        await FailoverProbe.WaitEventAsync(f.Target, FailoverLab.Job, EventCode.WitnessReleaseRetrying, Long);
        // What the target's witness view says while the release is owed (asserted at the end: the key comes first).
        var during = await Witness(f.Target);
        output.WriteLine($"during the cut: {during}");
        var key = during!["key"]!.GetValue<string>();

        // The witness and the source come back: the release goes through, the source takes its key and its address again.
        await f.Lab.RestoreLinkAsync(f.Lab.Source);
        await f.Lab.ExecOkAsync(f.Lab.Target, ["ip", "route", "del", "blackhole", $"{etcd.Address}/32"]);
        await FailoverProbe.WaitEventAsync(f.Source, FailoverLab.Job, EventCode.WitnessAcquired, Long, "took the witness key again");
        await Wait.UntilAsync(() => f.Holders(f.Vip) is ["src"], Long, "the source to hold its service address again");
        Assert.StartsWith("source ", await KeyValueAsync(f.Lab, etcd, key), StringComparison.Ordinal);
        await FailoverProbe.WaitEventAsync(f.Target, FailoverLab.Job, EventCode.WitnessReleaseRecovered, Long);
        Assert.Equal("release pending", during["state"]?.GetValue<string>());
        Assert.Equal("released", (await Witness(f.Target))?["state"]?.GetValue<string>());
        foreach (var e in (await FailoverProbe.EventsAsync(f.Target, FailoverLab.Job)).Concat(await FailoverProbe.EventsAsync(f.Source, FailoverLab.Job)).OrderBy(e => e.Time))
            output.WriteLine(e.ToString());
    }

    private static async Task<JsonNode?> Witness(LabAgent target) => (await FailoverProbe.StatusAsync(target, FailoverLab.Job)).Json["witness"];

    /// <summary>The key's value as etcd holds it (asked from the witness's own host), or null when it does not exist.</summary>
    private static async Task<string?> KeyValueAsync(Lab lab, EtcdWitness etcd, string key)
    {
        var body = new JsonObject { ["key"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(key)) }.ToJsonString();
        var r = await lab.ExecOkAsync(etcd.Host, ["curl", "-s", "-m", "5", "-X", "POST", etcd.Endpoint + "/v3/kv/range", "-d", body]);
        return JsonNode.Parse(r.Stdout)?["kvs"]?[0]?["value"]?.GetValue<string>() is { } v ? Encoding.UTF8.GetString(Convert.FromBase64String(v)) : null;
    }
}
