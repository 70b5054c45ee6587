using System.Net;
using System.Runtime.InteropServices;
using Understudy.Agent.Events;
using Understudy.Agent.Failover;
using Understudy.Agent.Identity;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Failover;

/// <summary>Runs every command inside one network namespace, as an agent started with `ip netns exec NS` would.</summary>
internal sealed class NetnsCommandRunner(string ns) : ICommandRunner
{
    public Task<CommandResult> RunAsync(string file, IReadOnlyList<string> args, CommandOptions options, CancellationToken ct) =>
        ProcessCommandRunner.Instance.RunAsync("ip", ["netns", "exec", ns, file, .. args], options, ct);
}

/// <summary>A throwaway network namespace with two linked interfaces (a dummy needs a kernel module that may be missing; a veth pair does not).</summary>
internal sealed partial class TestNetns : IAsyncDisposable
{
    private const int CLONE_NEWNET = 0x40000000;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int nstype);

    /// <summary>
    /// Starts <paramref name="action"/> on a fresh thread moved into the namespace (a network namespace
    /// is per thread, so the test process stays where it is). Sockets the action creates before its first
    /// await belong to the namespace, as they would in an agent started with `ip netns exec`.
    /// </summary>
    public static Task OnThreadInAsync(string ns, Func<Task> action) => OnThreadInAsync(ns, async () =>
    {
        await action();
        return true;
    });

    public static Task<T> OnThreadInAsync<T>(string ns, Func<Task<T>> action)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var t = new Thread(() =>
        {
            try
            {
                using var f = File.OpenHandle($"/var/run/netns/{ns}");
                if (setns((int)f.DangerousGetHandle(), CLONE_NEWNET) != 0)
                    throw new IOException($"setns failed: errno {Marshal.GetLastPInvokeError()}");
                done.SetResult(action().GetAwaiter().GetResult());
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        });
        t.Start();
        return done.Task;
    }

    public string Name { get; } = "ustd-t-" + Guid.NewGuid().ToString("N")[..8];

    public static async Task<TestNetns> CreateAsync()
    {
        var ns = new TestNetns();
        await ns.IpAsync("netns", "add", ns.Name);
        if (!(await ProcessCommandRunner.Instance.RunAsync("ip", ["-n", ns.Name, "link", "add", "d0", "type", "dummy"], CommandOptions.Default, CancellationToken.None)).Ok)
            await ns.IpAsync("-n", ns.Name, "link", "add", "d0", "type", "veth", "peer", "name", "d1");
        foreach (var dev in new[] { "lo", "d0", "d1" })
            await ProcessCommandRunner.Instance.RunAsync("ip", ["-n", ns.Name, "link", "set", dev, "up"], CommandOptions.Default, CancellationToken.None);
        return ns;
    }

    public async Task<CommandResult> IpAsync(params string[] args)
    {
        var r = await ProcessCommandRunner.Instance.RunAsync("ip", args, CommandOptions.Default, CancellationToken.None);
        Assert.True(r.Ok, $"ip {string.Join(' ', args)}: {r.Output}");
        return r;
    }

    public async Task<IReadOnlyList<string>> AddressesAsync(string dev) =>
        IpAddr.ParseCidrs((await IpAsync("-n", Name, "-o", "addr", "show", "dev", dev, "scope", "global")).Output);

    public async ValueTask DisposeAsync() =>
        await ProcessCommandRunner.Instance.RunAsync("ip", ["netns", "del", Name], CommandOptions.Default, CancellationToken.None);
}

/// <summary>The real ARP probe, run inside the namespace.</summary>
internal sealed class NetnsArpProbe(string ns) : IDuplicateAddressProbe
{
    public Task<bool> InUseAsync(string device, IPAddress address, CancellationToken ct) =>
        TestNetns.OnThreadInAsync(ns, () => new ArpProbe().InUseAsync(device, address, ct));
}

public sealed class AddressNetnsTests
{
    private static StepContext Ctx(string ns, List<string> events) =>
        new("web", new NetnsCommandRunner(ns), new IdentityOptions(), (_, _, m, _) => events.Add(m), _ => { });

    [NetnsFact]
    public async Task AddressStep_RealNamespace_AppliesIdempotently_AndReverts()
    {
        await using var ns = await TestNetns.CreateAsync();
        var events = new List<string>();
        var step = new AddressStep(new InterfaceAddress("198.18.7.10/24", "d0"), force: false, new NetnsArpProbe(ns.Name));

        await step.ApplyAsync(Ctx(ns.Name, events), CancellationToken.None);
        Assert.Contains("198.18.7.10/24", await ns.AddressesAsync("d0"));
        await step.ApplyAsync(Ctx(ns.Name, events), CancellationToken.None);
        Assert.Single(await ns.AddressesAsync("d0"), "198.18.7.10/24");

        await step.RevertAsync(Ctx(ns.Name, events), CancellationToken.None);
        Assert.DoesNotContain("198.18.7.10/24", await ns.AddressesAsync("d0"));
        await step.RevertAsync(Ctx(ns.Name, events), CancellationToken.None);
    }

    [NetnsFact]
    public async Task AddressStep_AddressHeldByAnotherInterface_RefusedUnlessForced()
    {
        await using var ns = await TestNetns.CreateAsync();
        var probe = await ProcessCommandRunner.Instance.RunAsync("ip", ["-n", ns.Name, "link", "show", "d1"], CommandOptions.Default, CancellationToken.None);
        Assert.True(probe.Ok, "this kernel has dummy interfaces: no peer to hold the address; the veth variant covers this test");
        await ns.IpAsync("-n", ns.Name, "addr", "add", "198.18.7.20/24", "dev", "d1");
        var events = new List<string>();
        var e = await Assert.ThrowsAsync<StepFailedException>(() =>
            new AddressStep(new InterfaceAddress("198.18.7.20/24", "d0"), force: false, new NetnsArpProbe(ns.Name)).ApplyAsync(Ctx(ns.Name, events), CancellationToken.None));
        Assert.True(e.Abort);
        Assert.Contains("still answers", e.Message, StringComparison.Ordinal);
        Assert.Empty(await ns.AddressesAsync("d0"));

        await new AddressStep(new InterfaceAddress("198.18.7.20/24", "d0"), force: true).ApplyAsync(Ctx(ns.Name, events), CancellationToken.None);
        Assert.Contains("198.18.7.20/24", await ns.AddressesAsync("d0"));
    }

    /// <summary>
    /// Issue 21, with real ARP probes: while the source is suspect, an address another interface holds answers (and is
    /// then refused by the step's own detection), a free one is found free; the step adds the free one.
    /// </summary>
    [NetnsFact]
    public async Task SuspectProbing_RealNamespace_HeldAddressAnswersAndIsRefused_FreeAddressIsAdded()
    {
        await using var ns = await TestNetns.CreateAsync();
        var peer = await ProcessCommandRunner.Instance.RunAsync("ip", ["-n", ns.Name, "link", "show", "d1"], CommandOptions.Default, CancellationToken.None);
        Assert.True(peer.Ok, "this kernel has dummy interfaces: no peer to hold the address; the veth variant covers this test");
        await ns.IpAsync("-n", ns.Name, "addr", "add", "198.18.7.30/24", "dev", "d1");
        var held = new InterfaceAddress("198.18.7.30/24", "d0");
        var free = new InterfaceAddress("198.18.7.31/24", "d0");
        var reports = new List<(EventCode Code, string Message)>();
        await using var early = new SuspectProbing(new NetnsArpProbe(ns.Name), TimeProvider.System, [held, free],
            (c, _, m, _) => { lock (reports) reports.Add((c, m)); });
        early.Begin();
        await Wait.UntilAsync(() =>
        {
            lock (reports)
                return reports.Any(r => r.Code == EventCode.EarlyDadAnswered);
        }, TimeSpan.FromSeconds(60), "the held address's answer");
        await Wait.UntilAsync(() => early.Verdict(free)?.KnownFree == true, TimeSpan.FromSeconds(60), "a quiet round for the free address");
        lock (reports)
            Assert.Contains(reports, r => r.Code == EventCode.EarlyDadAnswered && r.Message.StartsWith("198.18.7.30 answered", StringComparison.Ordinal));
        Assert.False(early.Verdict(held)!.KnownFree);

        var events = new List<string>();
        var e = await Assert.ThrowsAsync<StepFailedException>(() =>
            new AddressStep(held, force: false, new NetnsArpProbe(ns.Name), early).ApplyAsync(Ctx(ns.Name, events), CancellationToken.None));
        Assert.Contains("still answers", e.Message, StringComparison.Ordinal);
        // Known free, or (on a machine too loaded for the rounds to stay recent) probed again: added either way.
        await new AddressStep(free, force: false, new NetnsArpProbe(ns.Name), early).ApplyAsync(Ctx(ns.Name, events), CancellationToken.None);
        Assert.Equal(["198.18.7.31/24"], await ns.AddressesAsync("d0"));
    }

    [NetnsFact]
    public async Task RemoveOwnAddresses_RealNamespace_GivesUpAndRestores()
    {
        await using var ns = await TestNetns.CreateAsync();
        await ns.IpAsync("-n", ns.Name, "addr", "add", "198.18.7.5/24", "dev", "d0");
        string? saved = null;
        var ctx = new StepContext("web", new NetnsCommandRunner(ns.Name), new IdentityOptions(), (_, _, _, _) => { }, d => saved = d);
        var step = new RemoveOwnAddressesStep(["d0"], ["198.18.7.10/24"]);
        await step.ApplyAsync(ctx, CancellationToken.None);
        Assert.Empty(await ns.AddressesAsync("d0"));
        Assert.NotNull(saved);
        await step.RevertAsync(ctx, CancellationToken.None);
        Assert.Equal(["198.18.7.5/24"], await ns.AddressesAsync("d0"));
    }
}
