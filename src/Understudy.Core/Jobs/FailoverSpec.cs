namespace Understudy.Core.Jobs;

/// <summary><c>failover</c>: how the target watches the source and what it takes over.</summary>
internal sealed record FailoverSpec
{
    public MonitorSpec Monitor { get; init; } = new();

    /// <summary>
    /// Manual by default: with no witness, the target cannot tell a dead source from a cut link. With a
    /// <see cref="Witness"/> the job file's default is automatic (<c>JobFile.ReadFailover</c>).
    /// </summary>
    public FailoverTrigger Trigger { get; init; } = FailoverTrigger.Manual;

    /// <summary>An etcd cluster whose lease decides who may hold the identity; null: none.</summary>
    public WitnessSpec? Witness { get; init; }

    public FailoverMode Mode { get; init; } = FailoverMode.Add;

    public IdentitySpec Identity { get; init; } = new();

    public ScriptsSpec Scripts { get; init; } = new();

    public ArpSpec Arp { get; init; } = new();
}

/// <summary><c>failover.monitor</c>.</summary>
internal sealed record MonitorSpec
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(1);

    public const int DefaultMisses = 5;

    /// <summary>At least one address of the source to watch.</summary>
    public ValueList<MonitorAddress> Addresses { get; init; } = ValueList<MonitorAddress>.Empty;

    public TimeSpan Interval { get; init; } = DefaultInterval;

    /// <summary>Consecutive missed probes after which an address counts as lost.</summary>
    public int Misses { get; init; } = DefaultMisses;

    /// <summary>All by default, so a failed NIC on a source that still answers elsewhere does not fail over.</summary>
    public MonitorPolicy Policy { get; init; } = MonitorPolicy.All;

    /// <summary>For <see cref="MonitorPolicy.Weight"/>: the sum of the lost addresses' weights at which the source is gone.</summary>
    public int? Threshold { get; init; }

    /// <summary>How long one probe waits for its answer; null: <see cref="EffectiveTimeout"/>'s default.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// 300 ms, or 80 % of a shorter interval (a probe must end before the next starts). A reply on a LAN
    /// takes well under a millisecond, and every millisecond waited here is added to the detection time.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public TimeSpan EffectiveTimeout => Timeout ?? TimeSpan.FromTicks(Math.Min(TimeSpan.FromMilliseconds(300).Ticks, Interval.Ticks * 8 / 10));

    /// <summary>Time from the last good probe until an address counts as lost.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public TimeSpan DetectionTime => Interval * Misses + EffectiveTimeout;
}

/// <summary>One watched source address.</summary>
internal sealed record MonitorAddress
{
    /// <summary>An IP address or host name of the source, without port.</summary>
    public string Address { get; init; } = "";

    public MonitorMethod Method { get; init; } = MonitorMethod.Icmp;

    /// <summary>TCP port for <see cref="MonitorMethod.Tcp"/> (the source agent's peer port by default), HTTP(S) and NFS; null for ICMP and SMB.</summary>
    public int? Port { get; init; }

    /// <summary>HTTP(S): the path requested, from '/'.</summary>
    public string? Path { get; init; }

    /// <summary>HTTP(S): the status codes that mean up, like "200" or "200-399"; null: 200-399.</summary>
    public string? Status { get; init; }

    /// <summary>HTTP(S): text the body must contain (first 64 KiB); null: any body.</summary>
    public string? Body { get; init; }

    /// <summary>SMB: the share to connect to.</summary>
    public string? Share { get; init; }

    /// <summary>SMB: a file in the share to read (the canary); null: connecting and listing is enough.</summary>
    public string? File { get; init; }

    /// <summary>SMB: an smbclient authentication file on the target (<c>smbclient -A</c>); null: as a guest.</summary>
    public string? Credentials { get; init; }

    /// <summary>Script: its name in the target's scripts directory (as a fail-over script's); it gets the address in
    /// <c>UNDERSTUDY_PROBE_ADDRESS</c>, and exit 0 within the monitor's timeout means up.</summary>
    public string? Run { get; init; }

    /// <summary>What this address counts for under <see cref="MonitorPolicy.Weight"/>; 1 by default.</summary>
    public int Weight { get; init; } = 1;

    /// <summary>The default port of a method; null where a port does not apply.</summary>
    public static int? DefaultPort(MonitorMethod method) => method switch
    {
        MonitorMethod.Tcp => JobSpec.DefaultPeerPort,
        MonitorMethod.Http => 80,
        MonitorMethod.Https => 443,
        MonitorMethod.Nfs => 2049,
        _ => null,
    };

    /// <summary>How events and status name this probe: the address and what is probed there.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string Label => Method switch
    {
        MonitorMethod.Icmp => $"{Address} (icmp)",
        MonitorMethod.Tcp => $"{Address} (tcp port {Port ?? JobSpec.DefaultPeerPort})",
        MonitorMethod.Http or MonitorMethod.Https => $"{Address} ({Method.ToString().ToLowerInvariant()} port {Port ?? DefaultPort(Method)}{Path ?? "/"})",
        MonitorMethod.Smb => $"{Address} (smb share {Share}{(File is null ? "" : "/" + File)})",
        MonitorMethod.Script => $"{Address} (script {Run})",
        _ => $"{Address} (nfs port {Port ?? 2049})",
    };
}

/// <summary><c>failover.identity</c>: what of the source's identity the target takes.</summary>
internal sealed record IdentitySpec
{
    public ValueList<IdentityAddress> Addresses { get; init; } = ValueList<IdentityAddress>.Empty;

    /// <summary>
    /// The name the target answers to (Samba netbios alias; in replace mode also the host name);
    /// null = no name take-over. YAML <c>server_name: true</c> resolves to <see cref="SourceName"/>.
    /// </summary>
    public string? ServerName { get; init; }

    /// <summary>The source's server name.</summary>
    public string? SourceName { get; init; }

    public ValueList<ShareSpec> Shares { get; init; } = ValueList<ShareSpec>.Empty;

    public ValueList<NfsExportSpec> NfsExports { get; init; } = ValueList<NfsExportSpec>.Empty;
}

/// <summary>An address the target adds on fail-over.</summary>
internal sealed record IdentityAddress
{
    /// <summary>CIDR: address and prefix, e.g. 192.0.2.10/24.</summary>
    public string Address { get; init; } = "";

    /// <summary>The target's interface to put it on.</summary>
    public string Interface { get; init; } = "";

    /// <summary>Add it even when it still answers on the network (skips duplicate address detection).</summary>
    public bool Force { get; init; }
}

/// <summary>A Samba share of the source, re-created on the target over the replica.</summary>
internal sealed record ShareSpec
{
    public string Name { get; init; } = "";

    /// <summary>The share's path on the source; must lie under one of <c>source.paths</c>.</summary>
    public string Path { get; init; } = "";

    /// <summary>Other smb.conf parameters of the share, in file order ("path" is set by Understudy).</summary>
    public ValueList<ShareOption> Options { get; init; } = ValueList<ShareOption>.Empty;
}

internal sealed record ShareOption(string Name, string Value);

/// <summary>An NFS export of the source, re-created on the target over the replica.</summary>
internal sealed record NfsExportSpec
{
    /// <summary>The export's path on the source; must lie under one of <c>source.paths</c>.</summary>
    public string Path { get; init; } = "";

    public string Clients { get; init; } = "*";

    public string Options { get; init; } = "rw,sync";
}

/// <summary><c>failover.scripts</c>.</summary>
internal sealed record ScriptsSpec
{
    public ValueList<ScriptSpec> PreFailover { get; init; } = ValueList<ScriptSpec>.Empty;

    public ValueList<ScriptSpec> PostFailover { get; init; } = ValueList<ScriptSpec>.Empty;

    public ValueList<ScriptSpec> PreFailback { get; init; } = ValueList<ScriptSpec>.Empty;

    public ValueList<ScriptSpec> PostFailback { get; init; } = ValueList<ScriptSpec>.Empty;

    /// <summary>A failing (non-zero or timed out) pre-script stops the fail-over or fail-back.</summary>
    public bool AbortOnPreFailure { get; init; } = true;
}

/// <summary>One script, run without a shell.</summary>
internal sealed record ScriptSpec
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Absolute path of an executable.</summary>
    public string Run { get; init; } = "";

    public TimeSpan Timeout { get; init; } = DefaultTimeout;
}

/// <summary><c>failover.arp</c>: gratuitous ARP after adding an address.</summary>
internal sealed record ArpSpec
{
    public const int DefaultCount = 5;

    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(200);

    public int Count { get; init; } = DefaultCount;

    public TimeSpan Interval { get; init; } = DefaultInterval;
}
