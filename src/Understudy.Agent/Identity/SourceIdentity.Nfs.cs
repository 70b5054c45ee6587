using Understudy.Core.Jobs;

namespace Understudy.Agent.Identity;

/// <summary>
/// The NFS part: the job's <c>identity.nfs_exports</c> leave the source's kernel NFS server, as fail-back releases the
/// target's (there the job's Ganesha EXPORT blocks go). The source's exports are the admin's own (<c>/etc/exports</c>),
/// so they are unexported in the kernel only (<c>exportfs -u CLIENT:PATH</c>, one per client of each entry), never
/// edited, and standing up again puts back exactly what the admin declared (<c>exportfs -r</c>). Another NFS server on
/// the source (NFS-Ganesha) is not touched: the caller says so, and its clients at the service address lose it with the address.
/// </summary>
internal sealed partial class SourceIdentity
{
    public static IReadOnlyList<NfsExportSpec> Exports(JobSpec spec) => spec.Failover!.Identity.NfsExports ?? ValueList<NfsExportSpec>.Empty;

    public async Task UnexportAsync(JobSpec spec, StandDown into, CancellationToken ct)
    {
        var gone = new List<string>();
        foreach (var e in Exports(spec))
        {
            foreach (var client in e.Clients.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var which = $"{client}:{e.Path}";
                var r = await commands.RunAsync(options.Exportfs, ["-u", which], CommandOptions.Default, ct);
                if (r.Ok)
                    gone.Add(which);
                else if (r.ExitCode == 127)
                {
                    into.Failed.Add($"NFS exports: {options.Exportfs} cannot run ({r.Output.Trim()}): no kernel NFS server here; "
                        + $"stop the exports of {string.Join(", ", Exports(spec).Select(x => x.Path))} in the NFS server that serves them");
                    return;
                }
                // exportfs says "Could not find 'CLIENT:PATH' to unexport" for an entry the kernel does not export: nothing to drop.
                else if (r.Output.Contains("Could not find", StringComparison.Ordinal))
                    into.Absent.Add(which);
                else
                    into.Failed.Add($"exportfs -u {which}: {r.Output.Trim()} ({r.Describe()})");
            }
        }
        if (gone.Count > 0)
            into.Dropped.Add("NFS exports " + string.Join(", ", gone) + " (exportfs -u)");
    }

    /// <summary>The kernel exports again what /etc/exports declares; null when done (or nothing to do), else what failed.</summary>
    public async Task<string?> ReexportAsync(JobSpec spec, CancellationToken ct)
    {
        if (Exports(spec).Count == 0)
            return null;
        var r = await commands.RunAsync(options.Exportfs, ["-r"], CommandOptions.Default, ct);
        return r.Ok || r.ExitCode == 127 ? null : $"exportfs -r: {r.Output.Trim()}, {r.Describe()}";
    }
}
