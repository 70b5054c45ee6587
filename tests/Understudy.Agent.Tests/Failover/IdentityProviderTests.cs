using System.Net;
using System.Net.NetworkInformation;
using Understudy.Agent.Events;
using Understudy.Agent.Identity;
using Xunit;

namespace Understudy.Agent.Tests.Failover;

public sealed class IdentityProviderTests
{
    private static StepContext Ctx(FakeCommandRunner fake, IdentityOptions? o = null, List<EventCode>? events = null, Action<string?>? save = null) =>
        new("web", fake, o ?? new IdentityOptions(), (c, _, _, _) => events?.Add(c), save ?? (_ => { }));

    private static CommandResult Ok(string output = "") => new(0, output, false);

    private const string IpShowEmpty = "";
    private const string IpShowOwn = "2: eth0    inet 192.0.2.5/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever preferred_lft forever\n"
        + "2: eth0    inet6 2001:db8::5/64 scope global \\       valid_lft forever preferred_lft forever\n";

    private sealed class FakeProbe(Func<bool> inUse) : IDuplicateAddressProbe
    {
        public List<string> Probed { get; } = [];

        public Task<bool> InUseAsync(string device, IPAddress address, CancellationToken ct)
        {
            Probed.Add($"{device} {address}");
            return Task.FromResult(inUse());
        }
    }

    [Fact]
    public async Task AddAddress_ProbesForDuplicates_ThenAdds()
    {
        var fake = new FakeCommandRunner();
        var probe = new FakeProbe(() => false);
        await new AddressStep(new InterfaceAddress("192.0.2.10/24", "eth0"), force: false, probe).ApplyAsync(Ctx(fake), CancellationToken.None);
        Assert.Equal(["eth0 192.0.2.10"], probe.Probed);
        Assert.Equal(["ip -o addr show dev eth0 scope global", "ip addr add 192.0.2.10/24 dev eth0"], fake.Lines);
    }

    [Fact]
    public async Task AddAddress_StillAnswering_RefusedWithAbort()
    {
        var fake = new FakeCommandRunner();
        var e = await Assert.ThrowsAsync<StepFailedException>(() =>
            new AddressStep(new InterfaceAddress("192.0.2.10/24", "eth0"), force: false, new FakeProbe(() => true)).ApplyAsync(Ctx(fake), CancellationToken.None));
        Assert.True(e.Abort);
        Assert.Contains("still answers", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(fake.Lines, l => l.StartsWith("ip addr add", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AddAddress_ProbeImpossible_AbortsAndPointsAtForce()
    {
        var e = await Assert.ThrowsAsync<StepFailedException>(() =>
            new AddressStep(new InterfaceAddress("192.0.2.10/24", "eth0"), force: false, new FakeProbe(() => throw new IOException("no network interface named eth0")))
                .ApplyAsync(Ctx(new FakeCommandRunner()), CancellationToken.None));
        Assert.True(e.Abort);
        Assert.Contains("force: true", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ArpProbe_HasNoSenderAddress_ConflictNeedsTheAddressFromAnotherMac()
    {
        var ours = PhysicalAddress.Parse("02-00-00-00-00-01");
        var probe = ArpProbe.BuildProbe(ours, IPAddress.Parse("192.0.2.10"));
        Assert.Equal([0, 0, 0, 0], probe[14..18]);
        Assert.Equal([192, 0, 2, 10], probe[24..28]);
        byte[] addr = [192, 0, 2, 10];
        var theirReply = GratuitousArp.BuildAnnouncement(PhysicalAddress.Parse("02-00-00-00-00-99"), IPAddress.Parse("192.0.2.10"));
        theirReply[7] = 2;
        Assert.True(ArpProbe.ShowsConflict(theirReply, ours.GetAddressBytes(), addr));
        Assert.False(ArpProbe.ShowsConflict(probe, ours.GetAddressBytes(), addr));
        var ourOwn = GratuitousArp.BuildAnnouncement(ours, IPAddress.Parse("192.0.2.10"));
        Assert.False(ArpProbe.ShowsConflict(ourOwn, ours.GetAddressBytes(), addr));
        var other = GratuitousArp.BuildAnnouncement(PhysicalAddress.Parse("02-00-00-00-00-99"), IPAddress.Parse("192.0.2.11"));
        Assert.False(ArpProbe.ShowsConflict(other, ours.GetAddressBytes(), addr));
    }

    [Fact]
    public async Task AddAddress_Forced_SkipsDetection()
    {
        var fake = new FakeCommandRunner();
        await new AddressStep(new InterfaceAddress("192.0.2.10/24", "eth0"), force: true).ApplyAsync(Ctx(fake), CancellationToken.None);
        Assert.Equal(["ip -o addr show dev eth0 scope global", "ip addr add 192.0.2.10/24 dev eth0"], fake.Lines);
    }

    [Fact]
    public async Task AddAddress_AlreadyThere_IsIdempotent_RevertRemoves()
    {
        var fake = new FakeCommandRunner { Respond = (f, a) => Ok("3: eth0    inet 192.0.2.10/24 scope global secondary eth0\\  valid_lft forever") };
        var step = new AddressStep(new InterfaceAddress("192.0.2.10/24", "eth0"), force: false);
        await step.ApplyAsync(Ctx(fake), CancellationToken.None);
        Assert.Equal(["ip -o addr show dev eth0 scope global"], fake.Lines);
        await step.RevertAsync(Ctx(fake), CancellationToken.None);
        Assert.Equal("ip addr del 192.0.2.10/24 dev eth0", fake.Lines[^1]);
    }

    [Fact]
    public async Task AddIPv6Address_DetectsWithPing()
    {
        var fake = new FakeCommandRunner { Respond = (f, _) => f == "ping" ? new CommandResult(1, "", false) : Ok() };
        await new AddressStep(new InterfaceAddress("2001:db8::10/64", "eth0"), force: false).ApplyAsync(Ctx(fake), CancellationToken.None);
        Assert.Contains("ping -6 -n -c 2 -W 1 2001:db8::10", fake.Lines);
        Assert.Contains("ip addr add 2001:db8::10/64 dev eth0", fake.Lines);
    }

    [Fact]
    public async Task RemoveOwnAddresses_RecordsBeforeRemoving_RevertRestores()
    {
        var fake = new FakeCommandRunner { Respond = (f, a) => a.Contains("show") ? Ok(IpShowOwn) : Ok() };
        var saved = new List<string?>();
        var step = new RemoveOwnAddressesStep(["eth0"], ["192.0.2.10/24"]);
        var ctx = Ctx(fake, save: d => saved.Add(d));
        await step.ApplyAsync(ctx, CancellationToken.None);
        Assert.Single(saved);
        Assert.Equal(
        [
            "ip -o addr show dev eth0 scope global",
            "ip addr del 192.0.2.5/24 dev eth0",
            "ip addr del 2001:db8::5/64 dev eth0",
        ], fake.Lines);
        // the record was written before the first removal: the save callback ran before 'ip addr del'
        var restored = RemoveOwnAddressesStep.Decode(saved[0]);
        Assert.Equal(["192.0.2.5/24", "2001:db8::5/64"], restored.Select(a => a.Cidr));

        var fake2 = new FakeCommandRunner();
        var ctx2 = Ctx(fake2);
        ctx2.LoadData(saved[0]);
        await step.RevertAsync(ctx2, CancellationToken.None);
        Assert.Equal(["ip addr add 192.0.2.5/24 dev eth0", "ip addr add 2001:db8::5/64 dev eth0"], fake2.Lines);
    }

    [Fact]
    public async Task RemoveOwnAddresses_Resumed_UsesTheRecordNotTheCurrentState()
    {
        var fake = new FakeCommandRunner { Respond = (f, a) => a.Contains("show") ? Ok("") : new CommandResult(2, "RTNETLINK answers: Cannot assign requested address", false) };
        var ctx = Ctx(fake);
        ctx.LoadData(RemoveOwnAddressesStep.Encode([new InterfaceAddress("192.0.2.5/24", "eth0")]));
        await new RemoveOwnAddressesStep(["eth0"], []).ApplyAsync(ctx, CancellationToken.None);
        Assert.Equal(["ip addr del 192.0.2.5/24 dev eth0"], fake.Lines);
    }

    [Fact]
    public void IpAddrParse_ReadsOneLinePerAddress()
    {
        Assert.Equal(["192.0.2.5/24", "2001:db8::5/64"], IpAddr.ParseCidrs(IpShowOwn));
    }

    [Fact]
    public void GratuitousArp_IsAnAnnouncementOfTheAddress()
    {
        var p = GratuitousArp.BuildAnnouncement(PhysicalAddress.Parse("02-00-00-00-00-01"), IPAddress.Parse("192.0.2.10"));
        Assert.Equal(
        [
            0, 1, 8, 0, 6, 4, 0, 1,
            2, 0, 0, 0, 0, 1, 192, 0, 2, 10,
            0, 0, 0, 0, 0, 0, 192, 0, 2, 10,
        ], p);
    }

    [Fact]
    public async Task SambaSharesAndName_WrittenToIncludes_SmbConfIncludesThemOnce_ReloadUsesTheConfiguredConf()
    {
        using var h = new StoreHarness();
        var o = h.Options;
        File.WriteAllText(o.SmbConf, "[global]\n   workgroup = LAB\n\n[own]\n   path = /srv/own\n");
        var fake = new FakeCommandRunner();
        var shares = new SharesStep("web", "src1", [("data", "/replica/data", [("read only", "no")])], o);
        var name = new ServerNameStep("web", "SRC1", o);
        await shares.ApplyAsync(Ctx(fake, o), CancellationToken.None);
        await name.ApplyAsync(Ctx(fake, o), CancellationToken.None);
        await shares.ApplyAsync(Ctx(fake, o), CancellationToken.None);

        var conf = File.ReadAllText(o.SmbConf);
        Assert.Equal(
            $"[global]\n   include = {o.SambaIncludeDir}/global.conf\n   workgroup = LAB\n\n[own]\n   path = /srv/own\ninclude = {o.SambaIncludeDir}/shares.conf\n"
            + $"include = {o.SambaIncludeDir}/name.conf\n", conf);
        Assert.DoesNotContain("netbios name", File.ReadAllText(Path.Combine(o.SambaIncludeDir, "name.conf")), StringComparison.Ordinal);
        Assert.Contains("netbios aliases = SRC1", File.ReadAllText(Path.Combine(o.SambaIncludeDir, "global.conf")), StringComparison.Ordinal);
        var sharesConf = File.ReadAllText(Path.Combine(o.SambaIncludeDir, "shares.conf"));
        Assert.Contains("[data]\n   path = /replica/data\n   read only = no\n", sharesConf, StringComparison.Ordinal);
        Assert.All(fake.Lines, l => Assert.Equal($"smbcontrol -s {o.SmbConf} smbd reload-config", l));

        await shares.RevertAsync(Ctx(fake, o), CancellationToken.None);
        await name.RevertAsync(Ctx(fake, o), CancellationToken.None);
        Assert.DoesNotContain("[data]", File.ReadAllText(Path.Combine(o.SambaIncludeDir, "shares.conf")), StringComparison.Ordinal);
        Assert.DoesNotContain("netbios aliases", File.ReadAllText(Path.Combine(o.SambaIncludeDir, "global.conf")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerName_ModeReplace_SetsNetbiosNameIncludedLast_RevertGivesTheOwnNameBack()
    {
        using var h = new StoreHarness();
        var o = h.Options;
        File.WriteAllText(o.SmbConf, "[global]\n   netbios name = TGT1\n\n[own]\n   path = /srv/own\n");
        var fake = new FakeCommandRunner();
        var name = new ServerNameStep("web", "SRC1", o, replace: true);
        await name.ApplyAsync(Ctx(fake, o), CancellationToken.None);
        await name.ApplyAsync(Ctx(fake, o), CancellationToken.None);

        Assert.Equal($"include = {o.SambaIncludeDir}/name.conf", File.ReadAllLines(o.SmbConf)[^1]);
        var nameConf = File.ReadAllText(Path.Combine(o.SambaIncludeDir, "name.conf"));
        Assert.Contains("[global]\n   netbios name = SRC1\n", nameConf, StringComparison.Ordinal);
        Assert.DoesNotContain("netbios aliases", File.ReadAllText(Path.Combine(o.SambaIncludeDir, "global.conf")), StringComparison.Ordinal);
        Assert.Contains(name.Describe(), l => l.Contains("netbios name", StringComparison.Ordinal));
        Assert.All(fake.Lines, l => Assert.Equal($"smbcontrol -s {o.SmbConf} smbd reload-config", l));

        await name.RevertAsync(Ctx(fake, o), CancellationToken.None);
        Assert.DoesNotContain("netbios name", File.ReadAllText(Path.Combine(o.SambaIncludeDir, "name.conf")), StringComparison.Ordinal);
        Assert.Contains("netbios name = TGT1", File.ReadAllText(o.SmbConf), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hostname_RecordsTheOwnNameFirst_SetsTheSources_RevertPutsItBack_DisabledDoesNothing()
    {
        var fake = new FakeCommandRunner { Respond = (f, a) => f == "hostname" && a.Length == 0 ? Ok("tgt1\n") : Ok() };
        var o = new IdentityOptions { SetHostname = true };
        string? saved = null;
        var step = new HostnameStep("SRC1");
        var ctx = Ctx(fake, o, save: d => saved = d);
        await step.ApplyAsync(ctx, CancellationToken.None);
        Assert.Equal(["hostname", "hostname SRC1"], fake.Lines);
        Assert.Equal("tgt1", saved);

        // After a restart the journal's data is the name recorded before the change, not the current one.
        var again = Ctx(fake, o);
        again.LoadData(saved);
        await step.ApplyAsync(again, CancellationToken.None);
        await step.RevertAsync(again, CancellationToken.None);
        Assert.Equal(["hostname", "hostname SRC1", "hostname SRC1", "hostname tgt1"], fake.Lines);

        var off = new FakeCommandRunner();
        var events = new List<EventCode>();
        await step.ApplyAsync(Ctx(off, o with { SetHostname = false }, events), CancellationToken.None);
        await step.RevertAsync(Ctx(off, o with { SetHostname = false }), CancellationToken.None);
        Assert.Empty(off.Lines);
        Assert.Contains(EventCode.HostnameSkipped, events);
    }

    [Fact]
    public async Task SambaReloadFailure_IsAWarningNotAnAbort()
    {
        using var h = new StoreHarness();
        var fake = new FakeCommandRunner { Respond = (_, _) => new CommandResult(1, "Can't find pid for destination 'smbd'", false) };
        var events = new List<EventCode>();
        await new ServerNameStep("web", "SRC1", h.Options).ApplyAsync(Ctx(fake, h.Options, events), CancellationToken.None);
        Assert.Contains(EventCode.SambaReloadFailed, events);
    }

    [Fact]
    public async Task NfsExports_GaneshaBlocksIncludedAndRemoved()
    {
        using var h = new StoreHarness();
        var o = h.Options;
        File.WriteAllText(o.GaneshaConf, "NFS_CORE_PARAM { Protocols = 3, 4; }\n");
        var step = new NfsExportsStep("web", [new NfsExport("/replica/exports", "/srv/exports", "192.0.2.0/24", "ro,no_root_squash")], o);
        var events = new List<EventCode>();
        await step.ApplyAsync(Ctx(new FakeCommandRunner(), o, events), CancellationToken.None);
        await step.ApplyAsync(Ctx(new FakeCommandRunner(), o, events), CancellationToken.None);
        var merged = File.ReadAllText(Path.Combine(o.GaneshaIncludeDir, "exports.conf"));
        Assert.Contains("Path = \"/replica/exports\";", merged, StringComparison.Ordinal);
        Assert.Contains("Pseudo = \"/srv/exports\";", merged, StringComparison.Ordinal);
        Assert.Contains("Squash = No_Root_Squash;", merged, StringComparison.Ordinal);
        Assert.DoesNotContain("Protocols", merged, StringComparison.Ordinal); // the server's NFS_CORE_PARAM decides
        Assert.Contains("CLIENT { Clients = 192.0.2.0/24; Access_Type = RO; }", merged, StringComparison.Ordinal);
        Assert.Contains($"Export_Id = {NfsExportsStep.ExportId("web", "/srv/exports")};", merged, StringComparison.Ordinal);
        Assert.Equal(1, File.ReadAllLines(o.GaneshaConf).Count(l => l.StartsWith("%include", StringComparison.Ordinal)));
        Assert.Contains(EventCode.GaneshaNotRunning, events);
        await step.RevertAsync(Ctx(new FakeCommandRunner(), o), CancellationToken.None);
        Assert.DoesNotContain("EXPORT", File.ReadAllText(Path.Combine(o.GaneshaIncludeDir, "exports.conf")), StringComparison.Ordinal);
    }

    [Fact]
    public void IdentityOptions_FromEnvironment()
    {
        var env = new Dictionary<string, string> { ["UNDERSTUDY_SMB_CONF"] = "/lab/a/smb.conf", ["UNDERSTUDY_SET_HOSTNAME"] = "0" };
        var o = IdentityOptions.FromEnvironment(k => env.GetValueOrDefault(k));
        Assert.Equal("/lab/a/smb.conf", o.SmbConf);
        Assert.Equal("/etc/samba/understudy.d", o.SambaIncludeDir);
        Assert.False(o.SetHostname);
    }
}
