using System.Diagnostics;
using Understudy.Testing;

namespace Understudy.Testing.Lab;

/// <summary>Runs short-lived commands (ip, smbclient, arping...) and captures their output.</summary>
public static class Shell
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    public static async Task<CliResult> RunAsync(IReadOnlyList<string> argv, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        using var p = Start(argv);
        var o = p.StandardOutput.ReadToEndAsync(ct);
        var e = p.StandardError.ReadToEndAsync(ct);
        try
        {
            await p.WaitForExitAsync(ct).WaitAsync(timeout ?? DefaultTimeout, ct);
        }
        catch (TimeoutException)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync(CancellationToken.None);
            return new CliResult(-1, await o, $"timed out after {(timeout ?? DefaultTimeout).TotalSeconds}s: {string.Join(' ', argv)}\n{await e}");
        }
        return new CliResult(p.ExitCode, await o, await e);
    }

    /// <summary>Synchronous form for tear-down paths (Dispose, process exit) that cannot await.</summary>
    public static CliResult Run(IReadOnlyList<string> argv, TimeSpan? timeout = null)
    {
        using var p = Start(argv);
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout ?? DefaultTimeout))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            return new CliResult(-1, o.Result, "timed out: " + string.Join(' ', argv));
        }
        p.WaitForExit();
        return new CliResult(p.ExitCode, o.Result, e.Result);
    }

    public static async Task RunOkAsync(IReadOnlyList<string> argv, CancellationToken ct = default)
    {
        var r = await RunAsync(argv, ct: ct);
        if (r.ExitCode != 0)
            throw new LabException($"`{string.Join(' ', argv)}` failed ({r.ExitCode}): {r.Stderr}{r.Stdout}");
    }

    private static Process Start(IReadOnlyList<string> argv)
    {
        var psi = new ProcessStartInfo(argv[0]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in argv.Skip(1))
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi) ?? throw new LabException($"cannot start {argv[0]}");
        p.StandardInput.Close();
        return p;
    }
}
