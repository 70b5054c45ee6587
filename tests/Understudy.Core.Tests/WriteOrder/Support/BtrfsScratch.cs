using System.Diagnostics;

namespace Understudy.Core.Tests.WriteOrder.Support;

/// <summary>A btrfs on a sparse loop image under a temp directory, with one subvolume <see cref="Vol"/> to change
/// and read-only snapshots beside it; everything unmounted and removed on dispose. Also an ext4-side work
/// directory (<see cref="Plain"/>, under /tmp) for replicas.</summary>
internal sealed class BtrfsScratch : IDisposable
{
    public BtrfsScratch()
    {
        Root = Directory.CreateTempSubdirectory("understudy-wo-").FullName;
        Mount = Path.Combine(Root, "mnt");
        Plain = Path.Combine(Root, "plain");
        Directory.CreateDirectory(Mount);
        Directory.CreateDirectory(Plain);
        string img = Path.Combine(Root, "img");
        using (var f = File.Create(img))
            f.SetLength(1L << 30);
        Run("mkfs.btrfs", "-q", "-f", img);
        Run("mount", "-o", "loop", img, Mount);
        Vol = Path.Combine(Mount, "vol");
        Run("btrfs", "subvolume", "create", Vol);
        Directory.CreateDirectory(Path.Combine(Mount, "snaps"));
    }

    public string Root { get; }
    public string Mount { get; }
    public string Vol { get; }
    public string Plain { get; }

    public string Snapshot(string name)
    {
        string path = Path.Combine(Mount, "snaps", name);
        Run("btrfs", "subvolume", "snapshot", "-r", Vol, path);
        return path;
    }

    /// <summary><c>btrfs send</c> of <paramref name="snapshot"/> (incremental from <paramref name="parent"/> when given) into a file.</summary>
    public string Send(string snapshot, string? parent, string file)
    {
        string path = Path.Combine(Root, file);
        if (parent is null)
            Run("btrfs", "send", "-q", "-f", path, snapshot);
        else
            Run("btrfs", "send", "-q", "-p", parent, "-f", path, snapshot);
        return path;
    }

    public static string Run(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEndAsync().Result;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{exe} {string.Join(' ', args)}: exit {p.ExitCode}: {err}");
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
            // already unmounted, or busy: the loop image is removed below either way
        }
        Directory.Delete(Root, recursive: true);
    }
}
