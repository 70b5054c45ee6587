using System.Diagnostics;

namespace Understudy.Testing;

/// <summary>
/// What the disk-full tests and the chaos runner share: a root tool run (mount, umount), a size-limited tmpfs mounted
/// for a test, and filling it.
/// </summary>
public static class Tmpfs
{
    /// <summary>Writes <paramref name="path"/> until the file system is full.</summary>
    public static void Fill(string path)
    {
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1);
        var block = new byte[64 * 1024];
        try
        {
            while (true)
                fs.Write(block);
        }
        catch (IOException)
        {
        }
        // What a short write left over, byte by byte: a tmpfs page is 4 KiB.
        var one = new byte[512];
        try
        {
            while (true)
                fs.Write(one);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Mounts a tmpfs of <paramref name="megabytes"/> on <paramref name="path"/> (made if missing); disposing unmounts it (lazily: a process may still hold it).</summary>
    public static async Task<IAsyncDisposable> MountAsync(string path, int megabytes)
    {
        Directory.CreateDirectory(path);
        await RunAsync("mount", "-t", "tmpfs", "-o", $"size={megabytes}m,mode=0700", "understudy-test", path);
        return new Mount(path);
    }

    public static async Task RunAsync(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{tool} {string.Join(' ', args)}: exit {p.ExitCode}: {await err}");
    }

    private sealed class Mount(string path) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => new(RunAsync("umount", "-l", path));
    }
}
