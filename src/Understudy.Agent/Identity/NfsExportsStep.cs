using System.IO.Hashing;
using System.Text;
using Understudy.Agent.Events;

namespace Understudy.Agent.Identity;

/// <summary>One NFS export to re-create: the replica's path on the target, the path clients used on the source (NFSv4 pseudo path), clients and options.</summary>
internal sealed record NfsExport(string TargetPath, string SourcePath, string Clients, string Options);

/// <summary>
/// NFS exports through NFS-Ganesha (user space; the kernel server is not assumed): each job's EXPORT
/// blocks in <c>INCLUDE_DIR/jobs/JOB.conf</c>, merged into <c>INCLUDE_DIR/exports.conf</c>, which
/// ganesha.conf includes (<c>%include</c>, added once); then SIGHUP, on which Ganesha re-reads its exports.
/// File handles change: a replica is other inodes on another file system, so mounted NFS clients see ESTALE and
/// must remount; a fresh mount walks from the pseudo path (docs/failover-planning.md §3).
/// Proven in the lab (NfsTakeoverTests): a client reads the replica over NFSv4 at the moved address.
/// </summary>
internal sealed partial class NfsExportsStep(string job, IReadOnlyList<NfsExport> exports, IdentityOptions options) : IHeldStep
{
    public string Name => $"nfs exports {string.Join(", ", exports.Select(e => e.SourcePath))}";

    private string JobsDir => Path.Combine(options.GaneshaIncludeDir, "jobs");

    private string JobFile => Path.Combine(JobsDir, job + ".conf");

    private string Merged => Path.Combine(options.GaneshaIncludeDir, "exports.conf");

    public IReadOnlyList<string> Describe() =>
    [
        .. exports.Select(e => $"NFS export {e.SourcePath} → {e.TargetPath} for {e.Clients} ({e.Options})"),
        $"write {JobFile}, merge into {Merged}, %include it from {options.GaneshaConf}",
        $"kill -HUP $(cat {options.GaneshaPidFile}) (NFS-Ganesha reloads its exports)",
    ];

    /// <summary>Ganesha needs a unique Export_Id per export; a hash of job and path keeps it stable across restarts.</summary>
    public static int ExportId(string job, string sourcePath) =>
        1000 + (int)(XxHash32.HashToUInt32(Encoding.UTF8.GetBytes(job + "\0" + sourcePath)) % 60000);

    public string Render()
    {
        var sb = new StringBuilder($"# job {job}\n");
        foreach (var e in exports)
        {
            var opts = e.Options.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var access = opts.Contains("ro") ? "RO" : "RW";
            var squash = opts.Contains("no_root_squash") ? "No_Root_Squash" : opts.Contains("all_squash") ? "All_Squash" : "Root_Squash";
            sb.Append("EXPORT {\n");
            sb.Append($"    Export_Id = {ExportId(job, e.SourcePath)};\n");
            sb.Append($"    Path = \"{e.TargetPath}\";\n");
            sb.Append($"    Pseudo = \"{e.SourcePath}\";\n");
            // No Protocols line: the NFS versions are the server's (NFS_CORE_PARAM), as they are for the kernel server,
            // where exports name none either. An export naming a version the server does not run is only "fixed up"
            // by Ganesha with a warning; one that names none gets every version the server offers (NFSv4 in the lab).
            sb.Append("    Transports = TCP;\n    SecType = sys;\n");
            sb.Append($"    Squash = {squash};\n");
            sb.Append("    FSAL { Name = VFS; }\n");
            sb.Append($"    CLIENT {{ Clients = {e.Clients}; Access_Type = {access}; }}\n");
            sb.Append("}\n");
        }
        return sb.ToString();
    }

    public Task ApplyAsync(StepContext ctx, CancellationToken ct)
    {
        Write(Render());
        Reload(ctx);
        ctx.Info(EventCode.NfsExported, $"exporting over NFS: {string.Join(", ", exports.Select(e => $"{e.SourcePath} → {e.TargetPath}"))}");
        return Task.CompletedTask;
    }

    public Task RevertAsync(StepContext ctx, CancellationToken ct)
    {
        Write(null);
        Reload(ctx);
        return Task.CompletedTask;
    }

    private void Write(string? content)
    {
        Directory.CreateDirectory(JobsDir);
        if (content is null)
            File.Delete(JobFile);
        else
            SambaConfig.WriteAtomically(JobFile, content);
        SambaConfig.WriteAtomically(Merged, MergedContent());
        var conf = File.Exists(options.GaneshaConf) ? File.ReadAllText(options.GaneshaConf) : "";
        if (!conf.Split('\n').Any(l => l.Trim() == Include))
            SambaConfig.WriteAtomically(options.GaneshaConf, conf + (conf.Length == 0 || conf.EndsWith('\n') ? "" : "\n") + Include + "\n");
    }

    private string Include => $"%include \"{Merged}\"";

    private string MergedContent()
    {
        var merged = new StringBuilder("# Written by Understudy: NFS exports of failed-over jobs. Do not edit.\n");
        foreach (var f in Directory.EnumerateFiles(JobsDir, "*.conf").Order(StringComparer.Ordinal))
            merged.Append(File.ReadAllText(f));
        return merged.ToString();
    }

    /// <summary>The job's EXPORT blocks are in its file, in the merged file, and ganesha.conf includes that (files only: no process).</summary>
    public Task<string?> DriftAsync(StepContext ctx, CancellationToken ct)
    {
        string? why = !File.Exists(JobFile) || File.ReadAllText(JobFile) != Render() ? $"{JobFile} is missing or changed"
            : !File.Exists(Merged) || File.ReadAllText(Merged) != MergedContent() ? $"{Merged} is missing or changed"
            : !File.Exists(options.GaneshaConf) || !File.ReadAllText(options.GaneshaConf).Split('\n').Any(l => l.Trim() == Include) ? $"{options.GaneshaConf} no longer includes {Merged}"
            : null;
        return Task.FromResult(why is null ? null : $"NFS exports {string.Join(", ", exports.Select(e => e.SourcePath))}: {why}");
    }

    private void Reload(StepContext ctx)
    {
        string? pidText = File.Exists(options.GaneshaPidFile) ? File.ReadAllText(options.GaneshaPidFile).Trim() : null;
        if (pidText is null || !int.TryParse(pidText, out int pid) || pid <= 1)
        {
            ctx.Warn(EventCode.GaneshaNotRunning, $"NFS-Ganesha is not running (no PID in {options.GaneshaPidFile}); the exports take effect when it starts");
            return;
        }
        if (Kill(pid, 1) != 0)
            ctx.Warn(EventCode.GaneshaSignalFailed, $"could not signal NFS-Ganesha (PID {pid}) to reload its exports");
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
