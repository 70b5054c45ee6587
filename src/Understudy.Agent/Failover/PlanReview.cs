using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Understudy.Agent.Identity;
using Understudy.Core.Jobs;

namespace Understudy.Agent.Failover;

/// <summary>
/// A fail-over plan as this target's operator reviews and approves it (issue 19, item 2): the source sends the plan,
/// but its steps run here as root, so nothing runs until the operator has seen it and approved its digest. The digest
/// covers everything the plan does here — the <c>failover</c> section and the paths it maps (source paths → target
/// path) — and nothing else of the job, so a changed bandwidth limit does not ask for approval again, while any change
/// of trigger, mode, addresses, force, names, shares, exports or scripts does.
/// </summary>
internal static class PlanReview
{
    /// <summary>SHA-256 (hex) of the plan's canonical JSON.</summary>
    public static string Digest(JobSpec spec)
    {
        var json = JsonSerializer.Serialize(new PlanCore(spec.Failover, spec.Source.Paths, spec.Target.Path), JobSpecJson.Options);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json)));
    }

    private sealed record PlanCore(FailoverSpec? Failover, ValueList<string> SourcePaths, string TargetPath);

    /// <summary>The plan in words, one line per thing it does; what `failover NAME --show` prints, and what changes are told in.</summary>
    public static IReadOnlyList<string> Describe(JobSpec spec, IdentityOptions options)
    {
        var f = spec.Failover ?? throw new InvalidOperationException($"job '{spec.Name}' has no fail-over section");
        var lines = new List<string>();
        var m = f.Monitor;
        lines.Add($"trigger: {JobEnum<FailoverTrigger>.Name(f.Trigger)}" + (f.Trigger == FailoverTrigger.Automatic
            ? " (TAKES OVER BY ITSELF when the monitor decides the source is gone)" : " (only on 'understudy failover')"));
        lines.Add($"monitor: {string.Join(", ", m.Addresses.Select(a => a.Method switch { MonitorMethod.Tcp => $"tcp {a.Address}:{a.Port ?? JobSpec.DefaultPeerPort}", MonitorMethod.Icmp => $"icmp {a.Address}", _ => a.Label }))}"
            + $", every {JobValues.FormatDuration(m.Interval)} × {m.Misses} misses, policy {JobEnum<MonitorPolicy>.Name(m.Policy)}");
        foreach (var a in m.Addresses.Where(a => a.Method == MonitorMethod.Script))
        {
            var found = ScriptPath.Resolve(options.ScriptsDir, a.Run ?? "", out var refused);
            lines.Add($"monitor script {a.Run} for {a.Address} (runs as root every {JobValues.FormatDuration(m.Interval)} once approved: "
                + $"{found ?? Path.Combine(options.ScriptsDir, a.Run ?? "")}, timeout {JobValues.FormatDuration(m.EffectiveTimeout)}){(found is null ? $" — NOT RUNNABLE: {refused}" : "")}");
        }
        var interfaces = string.Join(", ", f.Identity.Addresses.Select(a => a.Interface).Distinct());
        lines.Add(f.Mode == FailoverMode.Replace
            ? $"mode: replace (REMOVES this target's own addresses on {(interfaces.Length > 0 ? interfaces : "no interface")}; its netbios name"
                + (options.SetHostname ? " and host name become" : " becomes") + " the source's)"
            : "mode: add (this target keeps its own addresses and name)");
        foreach (var a in f.Identity.Addresses)
            lines.Add($"address {a.Address} on {a.Interface}" + (a.Force ? " with force (NO duplicate address detection: taken even while another host answers)" : ""));
        if ((f.Identity.ServerName ?? (f.Mode == FailoverMode.Replace ? f.Identity.SourceName : null)) is { } name)
            lines.Add($"server name: {name}");
        foreach (var s in f.Identity.Shares)
        {
            lines.Add($"Samba share [{s.Name}] over {(spec.TryMapToTarget(s.Path, out var t) ? t : s.Path)}"
                + string.Concat(s.Options.Select(o => $"; {o.Name.Trim()} = {o.Value.Trim()}")));
        }
        foreach (var e in f.Identity.NfsExports)
            lines.Add($"NFS export {e.Path} → {(spec.TryMapToTarget(e.Path, out var t) ? t : e.Path)} for {e.Clients} ({e.Options})");
        Scripts("pre-failover", f.Scripts.PreFailover, f.Scripts.AbortOnPreFailure);
        Scripts("post-failover", f.Scripts.PostFailover, false);
        Scripts("pre-failback", f.Scripts.PreFailback, f.Scripts.AbortOnPreFailure);
        Scripts("post-failback", f.Scripts.PostFailback, false);
        lines.Add($"paths: {string.Join(", ", spec.Source.Paths)} → {spec.Target.Path}");
        return lines;

        void Scripts(string phase, ValueList<ScriptSpec> scripts, bool aborts)
        {
            foreach (var s in scripts)
            {
                var found = ScriptPath.Resolve(options.ScriptsDir, s.Run, out var refused);
                lines.Add($"{phase} script {s.Run} (runs as root: {(found ?? Path.Combine(options.ScriptsDir, s.Run))}, timeout {JobValues.FormatDuration(s.Timeout)}"
                    + $"{(aborts ? ", failure aborts" : "")}){(found is null ? $" — NOT RUNNABLE: {refused}" : "")}");
            }
        }
    }

    /// <summary>What changed from the approved plan to this one: "- line" removed, "+ line" added, in plan order.</summary>
    public static IReadOnlyList<string> Changes(IReadOnlyList<string> approved, IReadOnlyList<string> now) =>
        [.. approved.Except(now, StringComparer.Ordinal).Select(l => "- " + l), .. now.Except(approved, StringComparer.Ordinal).Select(l => "+ " + l)];
}
