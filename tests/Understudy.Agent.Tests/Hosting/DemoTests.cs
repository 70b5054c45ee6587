using System.Diagnostics;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Hosting;

/// <summary>The README's first command: the demo must run to the end on a machine with only the SDK.</summary>
public sealed class DemoTests
{
    [Fact]
    public async Task Demo_MirrorsReplicatesFailsOverAndBack_ExitsZero()
    {
        using var dir = new TempDir();
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { AgentProcess.CliDll, "demo", "--files", "60", "--dir", dir.Sub("demo") })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(4));
        string output = await stdout + await stderr;

        Assert.True(p.ExitCode == 0, $"demo exited {p.ExitCode}:\n{output}");
        Assert.Contains("verify --checksum: identical", output, StringComparison.Ordinal);
        Assert.Contains("failed-over", output, StringComparison.Ordinal);
        Assert.Contains("the client's file is home", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(dir.Sub("demo"), "source-data", "written during the fail-over.txt")));
    }
}
