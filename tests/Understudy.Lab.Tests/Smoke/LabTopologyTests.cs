using Understudy.Testing.Lab;
using Xunit;

namespace Understudy.LabTests.Smoke;

[Collection(LabCollection.Name)]
public sealed class LabTopologyTests
{
    [LabFact]
    public async Task Lab_HostsReachEachOther_NothingLeaks_TeardownLeavesNothing()
    {
        var lab = await Lab.CreateAsync();
        var id = lab.Id;
        var dir = lab.Dir;
        await using (lab)
        {
            foreach (var from in lab.Hosts)
            {
                foreach (var to in lab.Hosts.Where(h => h != from))
                    Assert.True(await lab.PingAsync(from, to.Address), $"{from} cannot ping {to}");
            }

            // The root namespace has no way into the lab: the guard route turns a stray packet
            // into an immediate local error instead of traffic on the real network.
            var route = await Shell.RunAsync(["ip", "route", "get", lab.Source.Address.ToString()]);
            Assert.NotEqual(0, route.ExitCode);
            Assert.Contains("No route to host", route.Stderr, StringComparison.Ordinal);
            Assert.NotEqual(0, (await Shell.RunAsync(["ping", "-n", "-c", "1", "-W", "1", lab.Source.Address.ToString()])).ExitCode);

            // No veth end or bridge in the root namespace.
            var rootLinks = (await Shell.RunAsync(["ip", "-o", "link", "show"])).Stdout;
            Assert.DoesNotContain("p-src", rootLinks, StringComparison.Ordinal);
            Assert.Contains(LabSweeper.Namespaces(), n => n.Id == id);
        }

        Assert.DoesNotContain(LabSweeper.Namespaces(), n => n.Id == id);
        Assert.DoesNotContain(LabSweeper.GuardRoutes(), r => r.Id == id);
        Assert.False(Directory.Exists(dir), $"{dir} left behind");
    }

    [LabFact]
    public async Task AddressHolders_FollowsAddAndRemove_AndSeesAddressesOnACutLink()
    {
        await using var lab = await Lab.CreateAsync();
        var vip = lab.NewServiceAddress();
        Assert.Empty(lab.AddressHolders(vip));
        Assert.Equal([lab.Source], lab.AddressHolders(lab.Source.Address));

        await lab.AddAddressAsync(lab.Source, vip);
        Assert.Equal([lab.Source], lab.AddressHolders(vip));
        Assert.True(await lab.PingAsync(lab.Client, vip));

        await lab.CutLinkAsync(lab.Source);
        Assert.True(lab.IsCut(lab.Source));
        Assert.Equal([lab.Source], lab.AddressHolders(vip));   // still configured, just unreachable
        Assert.False(await lab.PingAsync(lab.Client, vip));

        await lab.RestoreLinkAsync(lab.Source);
        await Understudy.Testing.Wait.UntilAsync(new Func<Task<bool>>(() => lab.PingAsync(lab.Client, vip)), TimeSpan.FromSeconds(10), "ping after restore");

        // promote_secondaries: removing the primary address keeps the service address.
        await lab.RemoveAddressAsync(lab.Source, lab.Source.Address);
        Assert.Equal([lab.Source], lab.AddressHolders(vip));
        await lab.RemoveAddressAsync(lab.Source, vip);
        Assert.Empty(lab.AddressHolders(vip));
    }
}
