using System.Diagnostics;
using Understudy.Testing;
using Understudy.Testing.Lab;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.LabTests.Smoke;

[Collection(LabCollection.Name)]
public sealed class AddressMoveTests(ITestOutputHelper output)
{
    /// <summary>
    /// What fail-over does to an address, by hand: the client reads through a service address
    /// held by the source; the address moves to the target (removed first, so never held by
    /// both) with gratuitous ARP; the client's next reads at the same address reach the target.
    /// </summary>
    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Arping)]
    public async Task ServiceAddress_MovedWithGratuitousArp_ClientReachesTheTargetsShare()
    {
        await using var lab = await Lab.CreateAsync();
        var vip = lab.NewServiceAddress();
        foreach (var (host, who) in new[] { (lab.Source, "source"), (lab.Target, "target") })
        {
            Directory.CreateDirectory(host.Sub("share"));
            await File.WriteAllTextAsync(Path.Combine(host.Sub("share"), "who.txt"), who);
        }
        await lab.AddAddressAsync(lab.Source, vip);
        // Both start before the move; the target's smbd (bind interfaces only = no) must answer
        // on an address it did not have when it started.
        await Smbd.StartAsync(lab.Source, [new SmbShare("data", lab.Source.Sub("share"))]);
        await Smbd.StartAsync(lab.Target, [new SmbShare("data", lab.Target.Sub("share"))]);
        var unc = SmbClient.Unc(vip, "data");
        Assert.Equal("source", (await SmbClient.ReadFileAsync(lab.Client, unc, "who.txt")).AsText());

        await using var watch = lab.WatchAddress(vip);
        var clock = Stopwatch.StartNew();
        await lab.RemoveAddressAsync(lab.Source, vip);
        var removed = clock.Elapsed;
        await lab.CutLinkAsync(lab.Source);
        var cut = clock.Elapsed;
        await lab.AddAddressAsync(lab.Target, vip);
        var moved = clock.Elapsed;
        var garp = lab.GratuitousArpAsync(lab.Target, vip);

        var (read, attempts) = await SmbClient.PollReadAsync(lab.Client, unc, "who.txt", TimeSpan.FromSeconds(30));
        var firstRead = clock.Elapsed;
        Assert.Equal("target", read.Text);
        var arp = await garp;
        Assert.True(arp.ExitCode == 0, $"arping: {arp.Stderr}{arp.Stdout}");
        await watch.StopAsync();

        output.WriteLine($"address move: removed {removed.TotalMilliseconds:F0} ms, link cut {cut.TotalMilliseconds:F0} ms, added on target {moved.TotalMilliseconds:F0} ms; start of move -> first good read {firstRead.TotalMilliseconds:F0} ms ({attempts} attempt(s))");
        watch.EnsureNeverHeldByBoth();
        Assert.True(watch.Samples > 1, "the watch never polled");
        Assert.Equal(["src"], watch.Changes[0].Holders);
        Assert.Equal(["tgt"], watch.Changes[^1].Holders);
    }

    [LabFact]
    public async Task AddressWatch_ReportsAnOverlap_WhenBothHostsHoldTheAddress()
    {
        await using var lab = await Lab.CreateAsync();
        var vip = lab.NewServiceAddress();
        await lab.AddAddressAsync(lab.Source, vip);
        await using var watch = lab.WatchAddress(vip);
        await lab.CutLinkAsync(lab.Source);
        await lab.AddAddressAsync(lab.Target, vip);   // added before the source lets go: a split brain if both were reachable
        await Wait.UntilAsync(() => watch.Overlaps.Count > 0, TimeSpan.FromSeconds(10), "the overlap to be seen");
        await watch.StopAsync();

        Assert.Throws<LabException>(new Action(() => watch.EnsureNeverHeldByBoth()));
        watch.EnsureNeverHeldByBoth(ignoreCutHosts: true); // the source's link was cut: nobody could reach it
        Assert.Equal(["src", "tgt"], watch.Overlaps[0].Holders);
        Assert.Equal(["src"], watch.Overlaps[0].CutHolders);
    }
}

internal static class BytesText
{
    public static string AsText(this byte[] bytes) => System.Text.Encoding.UTF8.GetString(bytes);
}
