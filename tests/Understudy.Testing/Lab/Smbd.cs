using System.Text;
using Understudy.Testing;

namespace Understudy.Testing.Lab;

/// <summary>A share served to guests (mapped to root, so the client can write).</summary>
public sealed record SmbShare(string Name, string Path, bool ReadOnly = false);

/// <summary>
/// One real smbd in one lab host, with its own smb.conf and its own lock, state, cache, pid,
/// private and ncalrpc dirs under the host's dir, so several run side by side.
/// Runs `--foreground --no-process-group` in the process group <see cref="LabProcess"/> made for it
/// with setsid: smbd signals its whole group when it stops (without setsid that was the test host).
/// `bind interfaces only = no`: smbd listens on the wildcard address, so it answers on an address
/// added after it started (with `yes` it never does, even after a reload). SMB2 on 445 only: no nmbd.
/// </summary>
public sealed class Smbd : IAsyncDisposable
{
    public const int Port = 445;
    private readonly LabProcess _process;

    private Smbd(LabHost host, string dir, LabProcess process, string netbiosName)
    {
        Host = host;
        Dir = dir;
        _process = process;
        NetbiosName = netbiosName;
    }

    /// <summary>The <c>netbios name</c> its smb.conf gives it (LAB + the host's role by default: LABSRC, LABTGT).</summary>
    public string NetbiosName { get; }

    public LabHost Host { get; }

    public string Dir { get; }

    public string ConfigPath => Path.Combine(Dir, "smb.conf");

    /// <summary>
    /// Included at the end of smb.conf, empty at start: share sections written here appear after
    /// <see cref="ReloadAsync"/> (how fail-over adds the source's shares on the target).
    /// </summary>
    public string IncludePath => Path.Combine(Dir, "shares.include.conf");

    public int Pid => _process.Pid;

    public string Log => _process.Log;

    public static async Task<Smbd> StartAsync(LabHost host, IReadOnlyList<SmbShare> shares, string? netbiosName = null, CancellationToken ct = default)
    {
        var dir = host.Sub("samba");
        foreach (var d in new[] { "lock", "state", "cache", "pid", "private", "ncalrpc", "log" })
            Directory.CreateDirectory(Path.Combine(dir, d));
        var config = Path.Combine(dir, "smb.conf");
        var include = Path.Combine(dir, "shares.include.conf");
        await File.WriteAllTextAsync(include, "", ct);
        netbiosName ??= "LAB" + host.Name.ToUpperInvariant();
        await File.WriteAllTextAsync(config, Config(dir, netbiosName, include, shares), ct);
        var process = host.Lab.StartDaemon(host, ["smbd", "--foreground", "--no-process-group", "--debug-stdout", "-s", config]);
        var smbd = host.Lab.Own(new Smbd(host, dir, process, netbiosName));
        await Wait.UntilAsync(() => process.HasExited || Listening.OnPort(process.Pid, Port), TimeSpan.FromSeconds(20), $"smbd in {host} listening");
        if (process.HasExited)
            throw new LabException($"smbd in {host} exited: {process.Log}");
        return smbd;
    }

    /// <summary>Writes share sections into the include file (replacing what was there) and reloads.</summary>
    public async Task SetIncludedSharesAsync(IReadOnlyList<SmbShare> shares, CancellationToken ct = default)
    {
        await File.WriteAllTextAsync(IncludePath, Sections(shares), ct);
        await ReloadAsync(ct);
    }

    public async Task ReloadAsync(CancellationToken ct = default) =>
        await Host.Lab.ExecOkAsync(Host, ["smbcontrol", "-s", ConfigPath, "smbd", "reload-config"], ct);

    /// <summary>
    /// Stops smbd, and samba-dcerpcd, which smbd starts on demand and which outlives it, by PID.
    /// </summary>
    public async Task StopAsync()
    {
        await _process.StopAsync();
        var pidFile = Path.Combine(Dir, "pid", "samba-dcerpcd.pid");
        if (File.Exists(pidFile) && int.TryParse((await File.ReadAllTextAsync(pidFile)).Trim(), out var pid) && pid > 1)
            _ = Native.Kill(pid, 15);
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private static string Config(string dir, string netbiosName, string include, IReadOnlyList<SmbShare> shares)
    {
        var sb = new StringBuilder();
        sb.Append($"""
            [global]
              netbios name = {netbiosName}
              workgroup = LAB
              server role = standalone server
              bind interfaces only = no
              disable netbios = yes
              smb ports = {Port}
              server min protocol = SMB2
              lock directory = {dir}/lock
              state directory = {dir}/state
              cache directory = {dir}/cache
              pid directory = {dir}/pid
              private dir = {dir}/private
              ncalrpc dir = {dir}/ncalrpc
              log file = {dir}/log/log.%m
              log level = 1
              map to guest = Bad User
              load printers = no
              printing = bsd
              printcap name = /dev/null
              disable spoolss = yes

            """);
        sb.Append(Sections(shares));
        // Last, so included sections may also override the ones above.
        sb.Append($"[global]\n  include = {include}\n");
        return sb.ToString();
    }

    private static string Sections(IReadOnlyList<SmbShare> shares)
    {
        var sb = new StringBuilder();
        foreach (var s in shares)
            sb.Append($"[{s.Name}]\n  path = {s.Path}\n  guest ok = yes\n  read only = {(s.ReadOnly ? "yes" : "no")}\n  force user = root\n\n");
        return sb.ToString();
    }
}
