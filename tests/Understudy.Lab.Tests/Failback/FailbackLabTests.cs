using System.Text;
using Understudy.Agent.Events;
using Understudy.LabTests.Failover;
using Understudy.Testing;
using Understudy.Testing.Lab;
using Xunit;

namespace Understudy.LabTests.Failback;

/// <summary>
/// Issue 5 §3, the whole cycle in the lab: replicate; fail over; the client writes through the share
/// on the target; the source host comes back and stays passive; restore (a diverged file is parked
/// under its conflict name); fail-back (refused before the restore); the client sees all its writes
/// through the share at the source address; verify --checksum is clean; the service address is never
/// held by two reachable hosts at once (polled throughout).
/// </summary>
[Collection(LabCollection.Name)]
public sealed class FailbackLabTests
{
    private static async Task<string?> FailoverStateAsync(EnvLabAgent target) =>
        (await target.StatusAsync())["failover"]!.AsArray().FirstOrDefault(f => f!["name"]!.GetValue<string>() == "lab5")?["state"]?.GetValue<string>();

    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents)]
    public async Task Failback_WholeCycle_ClientSeesItsWritesAtTheSourceAddress_AddressNeverHeldTwice()
    {
        await using var lab = await Lab.CreateAsync();
        var svc = lab.NewServiceAddress();
        await lab.AddAddressAsync(lab.Source, svc);
        var data = lab.Source.Sub("data");
        var replica = lab.Target.Sub("replica");
        Directory.CreateDirectory(Path.Combine(data, "docs"));
        await File.WriteAllTextAsync(Path.Combine(data, "docs", "old.txt"), "old, from the source\n");
        await File.WriteAllTextAsync(Path.Combine(data, "both.txt"), "before\n");

        await Smbd.StartAsync(lab.Source, [new SmbShare("data", data)]);
        var targetSmbd = await Smbd.StartAsync(lab.Target, []);
        var fast = new Dictionary<string, string> { ["UNDERSTUDY_SET_HOSTNAME"] = "0", ["UNDERSTUDY_PASSIVE_POLL_MS"] = "500", ["UNDERSTUDY_RESTORE_SYNC_MS"] = "500" };
        var source = lab.Own(new EnvLabAgent(lab.Source, fast));
        var target = lab.Own(new EnvLabAgent(lab.Target, new Dictionary<string, string>(fast)
        {
            ["UNDERSTUDY_SMB_CONF"] = targetSmbd.ConfigPath,
            ["UNDERSTUDY_SMB_INCLUDE_DIR"] = lab.Target.Sub("understudy.d"),
        }));
        await Task.WhenAll(source.StartAsync(), target.StartAsync());
        await source.CliOkAsync("trust", "add", target.Id, "--name", target.Name);
        await target.CliOkAsync("trust", "add", source.Id, "--name", source.Name, "--root", lab.Target.Dir);
        var yaml = lab.Source.Sub("lab5.yaml");
        await File.WriteAllTextAsync(yaml, $$"""
            name: lab5
            source:
              paths: [{{data}}]
            target:
              address: {{target.PeerAddress}}
              id: {{target.Id}}
              path: {{replica}}
            failover:
              monitor:
                addresses: [ { address: {{lab.Source.Address}}, method: tcp, port: {{LabAgent.PeerPort}} } ]
                interval: 500ms
                misses: 3
              identity:
                addresses: [ { address: {{svc}}/{{Lab.PrefixLength}}, interface: eth0 } ]
                shares: [ { name: data, path: {{data}}, options: { "guest ok": "yes", "read only": "no", "force user": "root" } } ]
            """);
        await source.CliOkAsync("job", "apply", yaml);
        await source.CliOkAsync("wait", "lab5", "--until", "mirrored", "--timeout", "120");
        await Wait.UntilAsync(async () => await FailoverStateAsync(target) == "protecting", TimeSpan.FromSeconds(30), "monitoring");
        await Wait.UntilAsync(async () => (await target.CliAsync("failover", "lab5", "--approve")).ExitCode == 0, TimeSpan.FromSeconds(30), "the plan's approval");
        var unc = SmbClient.Unc(svc, "data");
        Assert.Equal("old, from the source\n", Encoding.UTF8.GetString(await SmbClient.ReadFileAsync(lab.Client, unc, "docs/old.txt")));

        await using var watch = lab.WatchAddress(svc);
        // A change the source queues and never sends before it dies: it diverges from the client's later write on the target.
        await source.CliOkAsync("pause", "lab5");
        await File.WriteAllTextAsync(Path.Combine(data, "both.txt"), "source change lost with the source\n");
        await Wait.UntilAsync(async () => (await source.StatusAsync("lab5"))["replication"]?["opsPending"]?.GetValue<long>() > 0,
            TimeSpan.FromSeconds(30), "the change to be queued");

        await lab.CutLinkAsync(lab.Source);
        await Wait.UntilAsync(async () => await FailoverStateAsync(target) == "fail-over-pending", TimeSpan.FromSeconds(30), "fail-over pending");
        await target.CliOkAsync("failover", "lab5");
        await SmbClient.WriteFileAsync(lab.Client, unc, "client-new.txt", "written by the client during the fail-over\n"u8.ToArray());
        await SmbClient.WriteFileAsync(lab.Client, unc, "docs/old.txt", "changed by the client\n"u8.ToArray());
        await SmbClient.WriteFileAsync(lab.Client, unc, "both.txt", "the client's version\n"u8.ToArray());

        // The repaired source comes back without the service address (not configured at boot) and stays passive.
        await lab.RemoveAddressAsync(lab.Source, svc);
        await source.CliOkAsync("resume", "lab5");
        await lab.RestoreLinkAsync(lab.Source);
        await Wait.UntilAsync(async () => (await source.StatusAsync("lab5"))["state"]?.GetValue<string>() == "failed-over (passive)",
            TimeSpan.FromSeconds(60), "the source to stay passive");

        var refused = await target.CliAsync("failback", "lab5");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("understudy restore lab5", refused.Stderr, StringComparison.Ordinal);

        await target.CliOkAsync("restore", "lab5", "--wait", "--timeout", "180");
        var parked = Directory.GetFiles(data, "both.txt.understudy-conflict-*");
        Assert.Equal("source change lost with the source\n", await File.ReadAllTextAsync(Assert.Single(parked)));

        var fb = await target.CliAsync("failback", "lab5", "--json");
        Assert.True(fb.ExitCode == 0, fb.Stdout + fb.Stderr + target.Log);
        Assert.Equal("protecting", await FailoverStateAsync(target));
        Assert.Equal([lab.Source], lab.AddressHolders(svc));

        foreach (var (path, text) in new[] { ("client-new.txt", "written by the client during the fail-over\n"), ("docs/old.txt", "changed by the client\n"), ("both.txt", "the client's version\n") })
        {
            var (read, _) = await SmbClient.PollReadAsync(lab.Client, unc, path, TimeSpan.FromSeconds(30), r => r.Text == text);
            Assert.True(read.Ok && read.Text == text, $"{path} at the source address: {read.Error}{read.Text}");
        }
        await Wait.UntilAsync(async () => (await source.CliAsync("verify", "lab5", "--checksum")).ExitCode == 0, TimeSpan.FromSeconds(90), "verify --checksum clean");

        await watch.StopAsync();
        watch.EnsureNeverHeldByBoth(ignoreCutHosts: true);
        var events = FailoverProbe.Parse((await target.CliOkAsync("events", "--job", "lab5", "--json", "--limit", "5000")).Stdout);
        FailoverProbe.Any(events, EventCode.FailbackCompleted);
    }

    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents)]
    public async Task Failback_SourceHostBringsTheAddressBack_PassiveSourceTakesItDown_ThenFailbackGoesAhead()
    {
        await using var lab = await Lab.CreateAsync();
        var svc = lab.NewServiceAddress();
        await lab.AddAddressAsync(lab.Source, svc);
        var data = lab.Source.Sub("data");
        Directory.CreateDirectory(data);
        await File.WriteAllTextAsync(Path.Combine(data, "a.txt"), "a\n");
        var targetSmbd = await Smbd.StartAsync(lab.Target, []);
        var fast = new Dictionary<string, string> { ["UNDERSTUDY_SET_HOSTNAME"] = "0", ["UNDERSTUDY_PASSIVE_POLL_MS"] = "500", ["UNDERSTUDY_RESTORE_SYNC_MS"] = "500" };
        var source = lab.Own(new EnvLabAgent(lab.Source, fast));
        var target = lab.Own(new EnvLabAgent(lab.Target, new Dictionary<string, string>(fast)
        {
            ["UNDERSTUDY_SMB_CONF"] = targetSmbd.ConfigPath,
            ["UNDERSTUDY_SMB_INCLUDE_DIR"] = lab.Target.Sub("understudy.d"),
        }));
        await Task.WhenAll(source.StartAsync(), target.StartAsync());
        await source.CliOkAsync("trust", "add", target.Id, "--name", target.Name);
        await target.CliOkAsync("trust", "add", source.Id, "--name", source.Name, "--root", lab.Target.Dir);
        var yaml = lab.Source.Sub("lab5.yaml");
        await File.WriteAllTextAsync(yaml, $$"""
            name: lab5
            source:
              paths: [{{data}}]
            target:
              address: {{target.PeerAddress}}
              id: {{target.Id}}
              path: {{lab.Target.Sub("replica")}}
            failover:
              monitor:
                addresses: [ { address: {{lab.Source.Address}}, method: tcp, port: {{LabAgent.PeerPort}} } ]
                interval: 500ms
                misses: 3
              identity:
                addresses: [ { address: {{svc}}/{{Lab.PrefixLength}}, interface: eth0 } ]
            """);
        await source.CliOkAsync("job", "apply", yaml);
        await source.CliOkAsync("wait", "lab5", "--until", "mirrored", "--timeout", "120");
        await Wait.UntilAsync(async () => await FailoverStateAsync(target) == "protecting", TimeSpan.FromSeconds(30), "monitoring");
        await Wait.UntilAsync(async () => (await target.CliAsync("failover", "lab5", "--approve")).ExitCode == 0, TimeSpan.FromSeconds(30), "the plan's approval");

        // A planned fail-over: the source host gives the address up first, as an operator would.
        await lab.RemoveAddressAsync(lab.Source, svc);
        await target.CliOkAsync("failover", "lab5");
        await Wait.UntilAsync(async () => (await source.StatusAsync("lab5"))["state"]?.GetValue<string>() == "failed-over (passive)",
            TimeSpan.FromSeconds(60), "the source to turn passive");
        await target.CliOkAsync("restore", "lab5", "--wait", "--timeout", "180");

        // Someone configured the service address on the source host again: both hosts answer for it, until the passive
        // source agent takes it down (issue 20, item 4: event 750). Fail-back would refuse while the source held it.
        await lab.AddAddressAsync(lab.Source, svc);
        await Wait.UntilAsync(() => lab.AddressHolders(svc).SequenceEqual([lab.Target]), TimeSpan.FromSeconds(30), "the passive source to take the address down");
        Assert.Contains(" 750 ", (await source.CliOkAsync("events", "--job", "lab5")).Stdout, StringComparison.Ordinal);
        Assert.Equal("restoring", await FailoverStateAsync(target));

        await target.CliOkAsync("failback", "lab5");
        Assert.Equal("protecting", await FailoverStateAsync(target));
        Assert.Equal([lab.Source], lab.AddressHolders(svc));
    }
}
