using Understudy.Testing.Lab;
using Xunit;

namespace Understudy.LabTests;

/// <summary>What a lab test needs beyond root and iproute2.</summary>
[Flags]
internal enum LabNeeds
{
    Network = 0,
    Samba = 1,
    Arping = 2,
    Ganesha = 4,
    Agents = 8,
    Etcd = 16,
}

/// <summary>Why the lab cannot run here (null when it can): not root, or a tool (Debian package) missing.</summary>
internal static class LabRequirements
{
    private static readonly Lazy<bool> IsIputilsArping = new(() =>
    {
        try
        {
            var r = Shell.Run(["arping", "-V"], TimeSpan.FromSeconds(5));
            return (r.Stdout + r.Stderr).Contains("iputils", StringComparison.Ordinal);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    });

    public static string? Missing(LabNeeds needs)
    {
        if (Environment.UserName != "root" && Native.Geteuid() != 0)
            return "lab tests need root (network namespaces); run as root, as CI does";
        var tools = new List<(string Tool, string Package)> { ("ip", "iproute2"), ("ping", "iputils-ping"), ("unshare", "util-linux"), ("nsenter", "util-linux") };
        if (needs.HasFlag(LabNeeds.Samba))
            tools.AddRange([("smbd", "samba"), ("smbcontrol", "samba"), ("smbclient", "smbclient"), ("testparm", "samba-common-bin")]);
        if (needs.HasFlag(LabNeeds.Arping))
            tools.Add(("arping", "iputils-arping"));
        if (needs.HasFlag(LabNeeds.Ganesha))
            tools.AddRange([("ganesha.nfsd", "nfs-ganesha + nfs-ganesha-vfs"), ("nfs-cat", "libnfs-utils"), ("nfs-ls", "libnfs-utils")]);
        if (needs.HasFlag(LabNeeds.Etcd))
            tools.AddRange([("etcd", "etcd-server"), ("curl", "curl")]);
        var missing = tools.Where(t => !OnPath(t.Tool)).Select(t => $"{t.Tool} (Debian {t.Package})").ToList();
        if (needs.HasFlag(LabNeeds.Ganesha) && !File.Exists("/usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so") && Directory.Exists("/usr/lib/x86_64-linux-gnu"))
            missing.Add("the FSAL VFS plugin (Debian nfs-ganesha-vfs)");
        if (missing.Count > 0)
            return "lab tool missing: " + string.Join(", ", missing) + "; .ci/run installs them";
        if (needs.HasFlag(LabNeeds.Arping) && !IsIputilsArping.Value)
            return "arping is not iputils-arping (Habets' arping takes other flags): install iputils-arping";
        return null;
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/sbin").Append("/sbin")
            .Any(d => d.Length > 0 && File.Exists(Path.Combine(d, tool)));

    private static class Native
    {
        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "geteuid")]
        public static extern uint Geteuid();
    }
}

/// <summary>A lab test: skipped, with the reason, when not root or a tool it needs is missing.</summary>
internal sealed class LabFactAttribute : FactAttribute
{
    public LabNeeds Needs { get; set; }

    public override string Skip
    {
        get => base.Skip ?? LabRequirements.Missing(Needs)!;
        set => base.Skip = value;
    }
}

/// <summary>Lab tests run one at a time: each builds its own lab, and timings are printed.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LabCollection
{
    public const string Name = "lab";
}
