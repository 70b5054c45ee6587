using System.Net;
using System.Text;
using Understudy.Testing;

namespace Understudy.Testing.Lab;

/// <summary>An NFS export: a directory and the NFSv4 pseudo path clients name it by.</summary>
public sealed record NfsExport(string Path, string Pseudo);

/// <summary>
/// NFS-Ganesha (user space, FSAL VFS) in one lab host, NFSv4 only, no grace period. The kernel
/// NFS server cannot run here (no nfsd file system) and nothing can mount NFS, so clients read
/// with the libnfs tools (<see cref="NfsClient"/>).
/// </summary>
public sealed class Ganesha : IAsyncDisposable
{
    public const int Port = 2049;
    private readonly LabProcess _process;

    private Ganesha(LabHost host, string dir, LabProcess process)
    {
        Host = host;
        Dir = dir;
        _process = process;
    }

    public LabHost Host { get; }

    public string Dir { get; }

    /// <summary>Its ganesha.conf: what an agent's <c>UNDERSTUDY_NFS_CONF</c> points at to add exports (it reloads on SIGHUP).</summary>
    public string ConfigPath => Path.Combine(Dir, "ganesha.conf");

    /// <summary>Where it writes its PID (<c>UNDERSTUDY_NFS_PID_FILE</c>).</summary>
    public string PidFile => Path.Combine(Dir, "ganesha.pid");

    public string Log => File.Exists(Path.Combine(Dir, "ganesha.log")) ? File.ReadAllText(Path.Combine(Dir, "ganesha.log")) : _process.Log;

    public static async Task<Ganesha> StartAsync(LabHost host, IReadOnlyList<NfsExport> exports, CancellationToken ct = default)
    {
        var dir = host.Sub("ganesha");
        Directory.CreateDirectory(Path.Combine(dir, "recovery"));
        var config = Path.Combine(dir, "ganesha.conf");
        await File.WriteAllTextAsync(config, Config(dir, exports), ct);
        var process = host.Lab.StartDaemon(host, ["ganesha.nfsd", "-F", "-f", config, "-L", Path.Combine(dir, "ganesha.log"), "-p", Path.Combine(dir, "ganesha.pid")]);
        var ganesha = host.Lab.Own(new Ganesha(host, dir, process));
        await Wait.UntilAsync(() => process.HasExited || Listening.OnPort(process.Pid, Port), TimeSpan.FromSeconds(20), $"ganesha in {host} listening");
        if (process.HasExited)
            throw new LabException($"ganesha.nfsd in {host} exited: {ganesha.Log}");
        return ganesha;
    }

    public async ValueTask DisposeAsync() => await _process.StopAsync();

    private static string Config(string dir, IReadOnlyList<NfsExport> exports)
    {
        // Graceless with a short lease: a fresh server in a test has no clients to wait for.
        var sb = new StringBuilder($$"""
            NFS_CORE_PARAM {
              Protocols = 4;
              NFS_Port = {{Port}};
              Enable_NLM = false;
              Enable_RQUOTA = false;
            }
            NFSv4 {
              RecoveryBackend = fs;
              RecoveryRoot = {{dir}}/recovery;
              Graceless = true;
              Lease_Lifetime = 5;
            }

            """);
        var n = 1;
        foreach (var e in exports)
        {
            sb.Append($$"""
                EXPORT {
                  Export_Id = {{n++}};
                  Path = {{e.Path}};
                  Pseudo = {{e.Pseudo}};
                  Access_Type = RW;
                  Squash = No_Root_Squash;
                  SecType = sys;
                  Protocols = 4;
                  FSAL { Name = VFS; }
                }

                """);
        }
        return sb.ToString();
    }
}

/// <summary>libnfs tools (`nfs-cat`, `nfs-ls`) run inside a lab host against an NFSv4 server.</summary>
public static class NfsClient
{
    public static string Url(IPAddress server, string pseudoPath) => $"nfs://{server}{pseudoPath}?version=4";

    public static async Task<byte[]> CatAsync(LabHost from, IPAddress server, string pseudoPath, CancellationToken ct = default)
    {
        // nfs-cat writes the bytes to stdout; text is enough for the lab's probe files.
        var r = await from.Lab.ExecAsync(from, ["nfs-cat", Url(server, pseudoPath)], TimeSpan.FromSeconds(20), ct);
        return r.ExitCode == 0 ? Encoding.UTF8.GetBytes(r.Stdout) : throw new LabException($"nfs-cat {Url(server, pseudoPath)} in {from}: exit {r.ExitCode}: {r.Stderr}");
    }

    /// <summary>
    /// Reads until a read succeeds (each attempt bounded by 5 s: a client whose neighbour entry still names a
    /// host that went away waits for it), then returns the content; throws with the last error at the deadline.
    /// </summary>
    public static async Task<byte[]> PollCatAsync(LabHost from, IPAddress server, string pseudoPath, TimeSpan deadline, CancellationToken ct = default)
    {
        var until = DateTime.UtcNow + deadline;
        while (true)
        {
            var r = await from.Lab.ExecAsync(from, ["nfs-cat", Url(server, pseudoPath)], TimeSpan.FromSeconds(5), ct);
            if (r.ExitCode == 0)
                return Encoding.UTF8.GetBytes(r.Stdout);
            if (DateTime.UtcNow > until)
                throw new LabException($"no good nfs-cat {Url(server, pseudoPath)} from {from} within {deadline.TotalSeconds} s; last: exit {r.ExitCode}: {r.Stderr}");
            await Task.Delay(50, ct); // pacing between attempts, not a wait for a condition
        }
    }

    public static async Task<string> ListAsync(LabHost from, IPAddress server, string pseudoPath, CancellationToken ct = default)
    {
        var r = await from.Lab.ExecAsync(from, ["nfs-ls", Url(server, pseudoPath)], TimeSpan.FromSeconds(20), ct);
        return r.ExitCode == 0 ? r.Stdout : throw new LabException($"nfs-ls {Url(server, pseudoPath)} in {from}: exit {r.ExitCode}: {r.Stderr}");
    }
}
