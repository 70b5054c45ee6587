using System.Diagnostics;

namespace Understudy.Testing;

public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public CliResult EnsureOk() => ExitCode == 0 ? this : throw new InvalidOperationException($"exit {ExitCode}: {Stderr}{Stdout}");
}

/// <summary>Runs `understudy …` (the CLI beside the test assembly) against an agent's data dir.</summary>
public static class Cli
{
    public static Task<CliResult> RunAsync(string dataDir, params string[] args) => RunProgramAsync("dotnet", [AgentProcess.CliDll, .. args], dataDir);

    /// <summary>Runs <paramref name="program"/> (another build of the CLI, such as the native client) with
    /// <paramref name="args"/> and <c>--data-dir</c>, and reads its output whole.</summary>
    public static async Task<CliResult> RunProgramAsync(string program, IEnumerable<string> args, string dataDir)
    {
        var psi = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("--data-dir");
        psi.ArgumentList.Add(dataDir);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        return new CliResult(p.ExitCode, await o, await e);
    }
}
