using System.Net;
using System.Text;
using Understudy.Testing;
using Understudy.Testing.Lab;

namespace Understudy.LabTests.Failover;

/// <summary>What a fail-over lab adds to the basic one.</summary>
internal sealed record FailoverLabOptions
{
    /// <summary>
    /// NFS-Ganesha on both hosts: the source exports its data directory (Pseudo = that path, as the
    /// job's <c>nfs_exports</c> name it), the target's starts with no exports and its agent's
    /// <c>UNDERSTUDY_NFS_*</c> paths point at it.
    /// </summary>
    public bool Nfs { get; init; }

    /// <summary>
    /// Replication over a back-end link (<see cref="Lab.AddBackEndLinkAsync"/>): the job's target address is
    /// the target's back-end address, which mode replace leaves alone, so restore and fail-back work.
    /// </summary>
    public bool BackEnd { get; init; }

    /// <summary>
    /// The source agent's Samba paths point at the source's own smbd (as on a real source host), so what the agent does
    /// to the source's shares (a returning source standing down, a witness fence) reaches the smbd clients use.
    /// </summary>
    public bool SourceSamba { get; init; }
}

/// <summary>
/// A lab set up for fail-over: the source host holds a service address and shares its data
/// directory over Samba; the target runs its own smbd (no shares yet) whose smb.conf the target
/// agent edits when it takes over; both agents run with per-host identity paths (no /etc) in
/// their host's own UTS namespace, so a host name change in mode replace renames only the lab
/// host. One job, <see cref="Job"/>, replicates the data directory to the target's replica.
/// </summary>
internal sealed class FailoverLab : IAsyncDisposable
{
    public const string Job = "files";
    public const string Share = "data";
    public const string FileName = "docs/report.txt";

    private FailoverLab(Lab lab, IPAddress vip, FailoverLabOptions options)
    {
        Lab = lab;
        Vip = vip;
        Options = options;
        SourceData = lab.Source.Sub("data");
        Replica = lab.Target.Sub("replica");
    }

    public Lab Lab { get; }

    public FailoverLabOptions Options { get; }

    /// <summary>The service address clients use: on the source at the start, moved by fail-over.</summary>
    public IPAddress Vip { get; }

    public string SourceData { get; }

    public string Replica { get; }

    public LabAgent Source { get; private set; } = null!;

    public LabAgent Target { get; private set; } = null!;

    public Smbd TargetSmbd { get; private set; } = null!;

    /// <summary>The source's smbd, sharing <see cref="SourceData"/> as <see cref="Share"/>.</summary>
    public Smbd SourceSmbd { get; private set; } = null!;

    /// <summary>With <see cref="FailoverLabOptions.Nfs"/>: the source's NFS-Ganesha, exporting <see cref="SourceData"/>.</summary>
    public Ganesha? SourceGanesha { get; private set; }

    /// <summary>With <see cref="FailoverLabOptions.Nfs"/>: the target's NFS-Ganesha (no exports until a fail-over).</summary>
    public Ganesha? TargetGanesha { get; private set; }

    /// <summary>Where the target agent writes Understudy's NFS exports.</summary>
    public string NfsIncludeDir => Lab.Target.Sub("ganesha.d");

    public string Unc => SmbClient.Unc(Vip, Share);

    /// <summary>The content of <see cref="FileName"/> on the source at the start.</summary>
    public static byte[] Content { get; } = Encoding.UTF8.GetBytes("quarterly figures, replicated\n");

    /// <summary>Where the target agent writes Understudy's part of smb.conf.</summary>
    public string SambaIncludeDir => Lab.Target.Sub("understudy.d");

    public static async Task<FailoverLab> CreateAsync(FailoverLabOptions? options = null, CancellationToken ct = default)
    {
        var lab = await Lab.CreateAsync(ct);
        try
        {
            var f = new FailoverLab(lab, lab.NewServiceAddress(), options ?? new FailoverLabOptions());
            await f.SetUpAsync(ct);
            return f;
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }
    }

    private async Task SetUpAsync(CancellationToken ct)
    {
        Directory.CreateDirectory(Path.Combine(SourceData, "docs"));
        await File.WriteAllBytesAsync(Path.Combine(SourceData, FileName), Content, ct);
        await Lab.AddAddressAsync(Lab.Source, Vip, ct);
        SourceSmbd = await Smbd.StartAsync(Lab.Source, [new SmbShare(Share, SourceData)], ct: ct);
        TargetSmbd = await Smbd.StartAsync(Lab.Target, [], ct: ct);
        if (Options.Nfs)
        {
            SourceGanesha = await Ganesha.StartAsync(Lab.Source, [new NfsExport(SourceData, SourceData)], ct);
            TargetGanesha = await Ganesha.StartAsync(Lab.Target, [], ct);
        }
        string? targetListen = null;
        if (Options.BackEnd)
            targetListen = $"{(await Lab.AddBackEndLinkAsync(ct)).Target}:{LabAgent.PeerPort}";
        Source = Lab.Own(new LabAgent(Lab.Source) { Environment = IdentityEnvironment(Lab.Source, Options.SourceSamba ? SourceSmbd : null, null) });
        Target = Lab.Own(new LabAgent(Lab.Target, listen: targetListen) { Environment = IdentityEnvironment(Lab.Target, TargetSmbd, TargetGanesha) });
        await Task.WhenAll(Source.StartAsync(ct), Target.StartAsync(ct));
        await Source.TrustAsync(Target, ct);
        await Target.TrustAsync(Source, ct);
    }

    // Host name changes stay on (the default): each agent runs in its lab host's own UTS namespace.
    private static Dictionary<string, string> IdentityEnvironment(LabHost host, Smbd? smbd, Ganesha? ganesha) => new()
    {
        ["UNDERSTUDY_SMB_CONF"] = smbd?.ConfigPath ?? host.Sub("no-smb.conf"),
        ["UNDERSTUDY_SMB_INCLUDE_DIR"] = host.Sub("understudy.d"),
        ["UNDERSTUDY_NFS_CONF"] = ganesha?.ConfigPath ?? host.Sub("ganesha.conf"),
        ["UNDERSTUDY_NFS_INCLUDE_DIR"] = host.Sub("ganesha.d"),
        ["UNDERSTUDY_NFS_PID_FILE"] = ganesha?.PidFile ?? host.Sub("ganesha.pid"),
        ["UNDERSTUDY_PASSIVE_POLL_MS"] = "500",
        ["UNDERSTUDY_RESTORE_SYNC_MS"] = "500",
        ["UNDERSTUDY_SCRIPTS_DIR"] = host.Sub("scripts"),
    };

    /// <summary>
    /// The job's <c>failover:</c> section: short probe intervals (300 ms × 3 misses) so a test
    /// detects a loss in about a second. By default the target watches the source agent's peer
    /// port and the service address, and takes over the service address, the share and a name.
    /// </summary>
    public string FailoverYaml(string trigger = "automatic", string mode = "add", string policy = "all",
        IReadOnlyList<string>? watch = null, string? scripts = null, bool identity = true, bool abortOnPreFailure = true, bool nfs = false,
        string interval = "300ms", int? threshold = null, string? timeout = null)
    {
        watch ??= [$"{{ address: {Lab.Source.Address}, method: tcp }}", $"{{ address: {Vip}, method: icmp }}"];
        var sb = new StringBuilder($"""
            failover:
              monitor:
                addresses: [ {string.Join(", ", watch)} ]
                interval: {interval}
                misses: 3
                policy: {policy}{(threshold is { } t ? $"\n    threshold: {t}" : "")}{(timeout is { } to ? $"\n    timeout: {to}" : "")}
              trigger: {trigger}
              mode: {mode}
              arp: {"{"} count: 3, interval: 100ms {"}"}

            """);
        if (identity)
        {
            sb.Append($$"""
                  identity:
                    addresses: [ { address: {{Vip}}/{{Lab.PrefixLength}}, interface: eth0 } ]
                    server_name: LABSOURCE
                    shares:
                      - { name: {{Share}}, path: {{SourceData}}, options: { "guest ok": "yes", "read only": "no", "force user": "root" } }

                """);
            if (nfs)
                sb.Append($"    nfs_exports: [ {{ path: {SourceData} }} ]\n");
        }
        if (scripts is not null)
        {
            sb.Append("  scripts:\n");
            foreach (var line in scripts.Split('\n'))
                sb.Append("    ").Append(line).Append('\n');
            sb.Append($"    abort_on_pre_failure: {(abortOnPreFailure ? "true" : "false")}\n");
        }
        return sb.ToString();
    }

    /// <summary>Applies the job with <paramref name="failoverYaml"/>, waits for the mirror and for the target to see every watched address up.</summary>
    public async Task ApplyAndProtectAsync(string failoverYaml, CancellationToken ct = default)
    {
        await Source.ApplyJobAsync(LabAgent.JobYaml(Job, SourceData, Target, Replica, failoverYaml), ct);
        await Source.WaitMirroredAsync(Job, ct: ct);
        await FailoverProbe.WaitAsync(Target, Job, v => v.IsProtectingAndUp, "the target to protect the job with every watched address up", TimeSpan.FromSeconds(30), ct);
        // The target's operator approves the plan the source sent; nothing fails over before (issue 19, item 2).
        await Wait.UntilAsync(async () => (await Target.CliAsync(["failover", Job, "--approve"], ct)).ExitCode == 0, TimeSpan.FromSeconds(30),
            "the target to approve the fail-over plan");
    }

    /// <summary>A shell script in the target host's scripts directory (scripts run without a shell, so it has its own #!); returns the name a plan uses.</summary>
    public string Script(string name, string body)
    {
        Directory.CreateDirectory(Lab.Target.Sub("scripts"));
        var path = Path.Combine(Lab.Target.Sub("scripts"), name);
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return name;
    }

    /// <summary>How many times the target's eth0 carries <paramref name="address"/> (`ip -o addr show`).</summary>
    public async Task<int> CountOnTargetAsync(IPAddress address)
    {
        var r = await Lab.ExecOkAsync(Lab.Target, ["ip", "-o", "addr", "show", "dev", "eth0"]);
        return r.Stdout.Split('\n').Count(l => l.Contains($" {address}/", StringComparison.Ordinal));
    }

    /// <summary>A [global] parameter of the target's smbd as Samba resolves it from smb.conf and its includes (`testparm`).</summary>
    public async Task<string> SambaParameterAsync(string name)
    {
        var r = await Lab.ExecOkAsync(Lab.Target, ["testparm", "-s", "--parameter-name", name, TargetSmbd.ConfigPath]);
        return r.Stdout.Trim();
    }

    /// <summary>The target smbd's effective <c>netbios name</c>.</summary>
    public Task<string> NetbiosNameAsync() => SambaParameterAsync("netbios name");

    public IReadOnlyList<string> Holders(IPAddress address) => [.. Lab.AddressHolders(address).Select(h => h.Name)];

    public async ValueTask DisposeAsync() => await Lab.DisposeAsync();
}
