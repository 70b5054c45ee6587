using System.Net;
using System.Net.Sockets;
using Understudy.Agent.Events;

namespace Understudy.Agent.Identity;

/// <summary>An address with its prefix on an interface, as `ip addr` takes it.</summary>
internal sealed record InterfaceAddress(string Cidr, string Interface)
{
    public string Address => Cidr.Split('/')[0];

    public bool IsIPv6 => IPAddress.TryParse(Address, out var a) && a.AddressFamily == AddressFamily.InterNetworkV6;
}

/// <summary>Argument lists and output parsing for iproute2's `ip addr`.</summary>
internal static class IpAddr
{
    public static string[] Show(string dev) => ["-o", "addr", "show", "dev", dev, "scope", "global"];

    public static string[] Add(InterfaceAddress a) => ["addr", "add", a.Cidr, "dev", a.Interface];

    public static string[] Del(InterfaceAddress a) => ["addr", "del", a.Cidr, "dev", a.Interface];

    /// <summary>Global addresses in `ip -o addr show` output: "2: eth0    inet 192.0.2.5/24 brd ... scope global eth0\ ...".</summary>
    public static IReadOnlyList<string> ParseCidrs(string output)
    {
        var list = new List<string>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var t = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            for (int i = 0; i + 1 < t.Length; i++)
            {
                if (t[i] is "inet" or "inet6")
                {
                    list.Add(t[i + 1]);
                    break;
                }
            }
        }
        return list;
    }

    public static async Task<IReadOnlyList<string>> ListAsync(StepContext ctx, string dev, CancellationToken ct)
    {
        var r = await ctx.RunAsync(ctx.Options.Ip, Show(dev), ct);
        return ParseCidrs(r.Output);
    }

    /// <summary>Same address, ignoring how the prefix of an IPv6 address is spelled.</summary>
    public static bool SameAddress(string cidrA, string cidrB) =>
        IPAddress.TryParse(cidrA.Split('/')[0], out var a) && IPAddress.TryParse(cidrB.Split('/')[0], out var b) && a.Equals(b);
}

/// <summary>
/// Puts one of the source's addresses on the target: duplicate address detection first (refused if
/// the address still answers, unless forced), then `ip addr add`. Idempotent: an address already there is left alone.
/// With <paramref name="early"/>, detection done while the source was suspect counts when it is recent and drew no
/// answer (<see cref="DadEvidence"/>): the address is then added at once; otherwise the step probes as before.
/// </summary>
internal sealed class AddressStep(InterfaceAddress address, bool force, IDuplicateAddressProbe? probe = null, IEarlyDad? early = null) : IHeldStep
{
    private readonly IDuplicateAddressProbe _probe = probe ?? new ArpProbe();

    public string Name => $"address {address.Cidr} on {address.Interface}";

    public InterfaceAddress Address => address;

    public IReadOnlyList<string> Describe() =>
    [
        force ? "skip duplicate address detection (force)"
            : address.IsIPv6 ? "duplicate address detection: " + string.Join(' ', PingCommand)
            : "duplicate address detection: " + (_probe is ArpProbe arp ? arp.Describe(address.Interface, IPAddress.Parse(address.Address))
                : $"ARP probe for {address.Address} on {address.Interface}")
                + (early is null ? "" : $"; none here if the probes sent while the source was suspect drew no answer, the last round ending at most {DadEvidence.Freshness.TotalMilliseconds:0} ms before"),
        "ip " + string.Join(' ', IpAddr.Add(address)),
    ];

    private string[] PingCommand => ["ping", "-6", "-n", "-c", "2", "-W", "1", address.Address];

    public async Task ApplyAsync(StepContext ctx, CancellationToken ct)
    {
        var verdict = force || address.IsIPv6 ? null : early?.Verdict(address);
        if (verdict is { KnownFree: true })
        {
            // Known free: no listing first either (one process less); an address already here is "File exists".
            ctx.Info(EventCode.AddressKnownFree, $"duplicate address detection for {address.Address} on {address.Interface} was done while the source was suspect: {verdict.Detail}; "
                + "no new wait", new { address = address.Cidr, rounds = verdict.Rounds, windowMs = verdict.WindowMs, ageMs = verdict.AgeMs });
            await AddAsync(ctx, ct);
            return;
        }
        var present = await IpAddr.ListAsync(ctx, address.Interface, ct);
        if (present.Any(c => IpAddr.SameAddress(c, address.Cidr)))
        {
            ctx.Info(EventCode.AddressPresent, $"{address.Cidr} is already on {address.Interface}");
            return;
        }
        if (!force)
        {
            if (verdict is not null)
                ctx.Info(EventCode.EarlyDadNotUsed, $"duplicate address detection for {address.Address} runs now: {verdict.Detail}", new { address = address.Cidr });
            await DetectDuplicateAsync(ctx, ct);
        }
        await AddAsync(ctx, ct);
    }

    private async Task AddAsync(StepContext ctx, CancellationToken ct)
    {
        var r = await ctx.Commands.RunAsync(ctx.Options.Ip, IpAddr.Add(address), CommandOptions.Default, ct);
        if (r.Ok)
            ctx.Info(EventCode.AddressAdded, $"added {address.Cidr} to {address.Interface}");
        else if (r.Output.Contains("File exists", StringComparison.Ordinal))
            ctx.Info(EventCode.AddressPresent, $"{address.Cidr} is already on {address.Interface}");
        else
            throw new StepFailedException($"cannot add {address.Cidr} to {address.Interface}: {r.Output}", abort: true);
    }

    public async Task<string?> DriftAsync(StepContext ctx, CancellationToken ct) =>
        (await IpAddr.ListAsync(ctx, address.Interface, ct)).Any(c => IpAddr.SameAddress(c, address.Cidr)) ? null : $"{address.Cidr} is not on {address.Interface}";

    private async Task DetectDuplicateAsync(StepContext ctx, CancellationToken ct)
    {
        bool inUse;
        if (address.IsIPv6)
        {
            // No neighbour-solicitation prober of our own: an echo reply from the address is the sign it is held.
            var cmd = PingCommand;
            inUse = (await ctx.Commands.RunAsync(cmd[0], cmd[1..], CommandOptions.Default, ct)).ExitCode == 0;
        }
        else
        {
            try
            {
                inUse = await _probe.InUseAsync(address.Interface, IPAddress.Parse(address.Address), ct);
            }
            catch (IOException e)
            {
                throw new StepFailedException($"duplicate address detection for {address.Address} failed ({e.Message}); "
                    + "set force: true on the address to skip the check", abort: true);
            }
        }
        if (inUse)
            throw new StepFailedException($"refused to add {address.Cidr}: the address still answers on the network (duplicate address detection) — "
                + "is the source still up? Use force: true on the address (or `understudy failover --force`) to take it anyway", abort: true);
    }

    public async Task RevertAsync(StepContext ctx, CancellationToken ct)
    {
        var present = await IpAddr.ListAsync(ctx, address.Interface, ct);
        if (!present.Any(c => IpAddr.SameAddress(c, address.Cidr)))
            return;
        await ctx.RunAsync(ctx.Options.Ip, IpAddr.Del(address), ct);
        ctx.Info(EventCode.AddressRemoved, $"removed {address.Cidr} from {address.Interface}");
    }
}

/// <summary>
/// Mode replace: the target gives up its own global addresses on the interfaces that receive the
/// source's, writing them down first (step data) so fail-back puts them back.
/// </summary>
internal sealed class RemoveOwnAddressesStep(IReadOnlyList<string> interfaces, IReadOnlyList<string> keep) : IHeldStep
{
    public string Name => $"remove own addresses on {string.Join(", ", interfaces)}";

    public IReadOnlyList<string> Describe() =>
        [.. interfaces.Select(i => $"record, then remove, every global address on {i} (ip -o addr show dev {i} scope global; ip addr del ADDR dev {i})")];

    public async Task ApplyAsync(StepContext ctx, CancellationToken ct)
    {
        var recorded = Decode(ctx.Data);
        if (ctx.Data is null)
        {
            foreach (var dev in interfaces)
            {
                foreach (var cidr in await IpAddr.ListAsync(ctx, dev, ct))
                {
                    if (!keep.Any(k => IpAddr.SameAddress(k, cidr)))
                        recorded.Add(new InterfaceAddress(cidr, dev));
                }
            }
            ctx.SaveData(Encode(recorded));
        }
        foreach (var a in recorded)
        {
            var r = await ctx.Commands.RunAsync(ctx.Options.Ip, IpAddr.Del(a), CommandOptions.Default, ct);
            if (!r.Ok && !r.Output.Contains("Cannot assign requested address", StringComparison.Ordinal))
                throw new StepFailedException($"cannot remove the target's own address {a.Cidr} from {a.Interface}: {r.Output}", abort: true);
        }
        ctx.Info(EventCode.OwnAddressesReleased, recorded.Count == 0 ? "the target had no own addresses to give up"
            : $"gave up the target's own addresses: {string.Join(", ", recorded.Select(a => $"{a.Cidr} on {a.Interface}"))}");
    }

    /// <summary>An own address recorded at the take-over is back (a reboot's network configuration brought it up).</summary>
    public async Task<string?> DriftAsync(StepContext ctx, CancellationToken ct)
    {
        var back = new List<string>();
        foreach (var dev in Decode(ctx.Data).Select(a => a.Interface).Distinct())
        {
            var present = await IpAddr.ListAsync(ctx, dev, ct);
            back.AddRange(Decode(ctx.Data).Where(a => a.Interface == dev && present.Any(p => IpAddr.SameAddress(p, a.Cidr))).Select(a => $"{a.Cidr} on {a.Interface}"));
        }
        return back.Count == 0 ? null : $"the target's own address {string.Join(", ", back)} is back (mode replace gives it up)";
    }

    public async Task RevertAsync(StepContext ctx, CancellationToken ct)
    {
        foreach (var a in Decode(ctx.Data))
        {
            var r = await ctx.Commands.RunAsync(ctx.Options.Ip, IpAddr.Add(a), CommandOptions.Default, ct);
            if (!r.Ok && !r.Output.Contains("File exists", StringComparison.Ordinal))
                throw new StepFailedException($"cannot restore the target's own address {a.Cidr} on {a.Interface}: {r.Output}", abort: false);
        }
    }

    public static string Encode(IReadOnlyList<InterfaceAddress> list) => System.Text.Json.JsonSerializer.Serialize(list);

    public static List<InterfaceAddress> Decode(string? data) =>
        data is null ? [] : System.Text.Json.JsonSerializer.Deserialize<List<InterfaceAddress>>(data) ?? [];
}
