using System.Net;
using Understudy.Agent.Identity;
using Xunit;

namespace Understudy.Agent.Tests.Failover;

public sealed class GratuitousArpNetnsTests
{
    [NetnsFact]
    public async Task Garp_UpdatesANeighboursStaleEntry()
    {
        await using var a = await TestNetns.CreateAsync();
        await using var b = new TestNetnsPeer();
        var probe = await ProcessCommandRunner.Instance.RunAsync("ip", ["-n", a.Name, "link", "show", "d1"], CommandOptions.Default, CancellationToken.None);
        Assert.True(probe.Ok, "needs the veth variant of the test namespace");
        await a.IpAsync("netns", "add", b.Name);
        await a.IpAsync("-n", a.Name, "link", "set", "d1", "netns", b.Name);
        await a.IpAsync("-n", b.Name, "link", "set", "d1", "up");
        await a.IpAsync("-n", a.Name, "link", "set", "d0", "up");
        await a.IpAsync("-n", a.Name, "addr", "add", "198.18.9.10/24", "dev", "d0");
        await a.IpAsync("-n", b.Name, "addr", "add", "198.18.9.20/24", "dev", "d1");
        // The client still believes the address lives at the dead source's MAC.
        await a.IpAsync("-n", b.Name, "neigh", "replace", "198.18.9.10", "lladdr", "02:00:00:00:00:99", "dev", "d1", "nud", "stale");
        var mac = (await a.IpAsync("-n", a.Name, "-o", "link", "show", "d0")).Output;
        var d0Mac = mac.Split("link/ether ")[1].Split(' ')[0];

        await TestNetns.OnThreadInAsync(a.Name, () => GratuitousArp.SendAsync("d0", IPAddress.Parse("198.18.9.10"), 3, TimeSpan.FromMilliseconds(20), TimeProvider.System, CancellationToken.None));

        await Understudy.Testing.Wait.UntilAsync(async () =>
            (await a.IpAsync("-n", b.Name, "neigh", "show", "198.18.9.10", "dev", "d1")).Output.Contains(d0Mac, StringComparison.OrdinalIgnoreCase),
            TimeSpan.FromSeconds(10), "the neighbour entry to move to the new MAC");
    }

    /// <summary>Only a name, deleted on dispose (the test creates it).</summary>
    private sealed class TestNetnsPeer : IAsyncDisposable
    {
        public string Name { get; } = "ustd-p-" + Guid.NewGuid().ToString("N")[..8];

        public async ValueTask DisposeAsync() =>
            await ProcessCommandRunner.Instance.RunAsync("ip", ["netns", "del", Name], CommandOptions.Default, CancellationToken.None);
    }
}
