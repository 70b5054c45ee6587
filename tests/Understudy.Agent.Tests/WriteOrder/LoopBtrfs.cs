using System.Diagnostics;
using Understudy.Core.Posix;
using Xunit;

namespace Understudy.Agent.Tests.WriteOrder;

/// <summary>A btrfs on a sparse loop image with one subvolume <see cref="Vol"/> (a write-order job's source path);
/// unmounted and removed on dispose. The agent-level twin of Understudy.Core.Tests' BtrfsScratch.</summary>
internal sealed class LoopBtrfs : IDisposable
{
    public LoopBtrfs()
    {
        Root = Directory.CreateTempSubdirectory("understudy-wo-agent-").FullName;
        Mount = Path.Combine(Root, "mnt");
        Directory.CreateDirectory(Mount);
        string img = Path.Combine(Root, "img");
        using (var f = File.Create(img))
            f.SetLength(1L << 30);
        Run("mkfs.btrfs", "-q", "-f", img);
        Run("mount", "-o", "loop", img, Mount);
        Vol = Path.Combine(Mount, "vol");
        Run("btrfs", "subvolume", "create", Vol);
    }

    public string Root { get; }
    public string Mount { get; }
    public string Vol { get; }

    public static string Run(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{exe} {string.Join(' ', args)}: exit {p.ExitCode}: {err.Result}");
        return output;
    }

    public void Dispose()
    {
        try
        {
            Run("umount", Mount);
        }
        catch (InvalidOperationException)
        {
            // busy or gone: the image is removed below either way
        }
        Directory.Delete(Root, recursive: true);
    }
}

/// <summary>A test on a real btrfs: root (a loop mount) and btrfs-progs. Skipped with the reason elsewhere, never on
/// CI (CI=true), where .ci/run installs btrfs-progs and runs as root.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class BtrfsFactAttribute : FactAttribute
{
    public BtrfsFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("CI") is "true")
            return;
        if (Libc.geteuid() != 0)
            Skip = "needs root (euid 0) to loop-mount a btrfs image";
        else if (!File.Exists("/usr/sbin/mkfs.btrfs") && !File.Exists("/sbin/mkfs.btrfs"))
            Skip = "mkfs.btrfs not found: apt-get install -y btrfs-progs";
    }
}
