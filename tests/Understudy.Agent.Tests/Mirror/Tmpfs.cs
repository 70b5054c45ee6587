using System.Diagnostics;

namespace Understudy.Agent.Tests.Mirror;

/// <summary>What the disk-full tests share: a root tool run (mount, umount) and filling a size-limited tmpfs.</summary>
internal static class Tmpfs
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
}
