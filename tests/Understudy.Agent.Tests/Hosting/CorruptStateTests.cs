using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Hosting;

/// <summary>
/// A damaged state database (state.db: trust entries, jobs, fail-over state and its journal). The agent must not guess
/// (starting empty would forget a fail-over and its trust, starting half-read could act on a wrong decision): it
/// refuses to start, says which file and why, and exits with the documented "could not start" code, so systemd and
/// the operator see the reason instead of a stack trace.
/// </summary>
public sealed class CorruptStateTests
{
    [Fact]
    public async Task Agent_StateDatabaseNotADatabase_RefusesToStartWithTheReason_Exit2()
    {
        using var dir = new TempDir();
        var data = dir.Sub("agent");
        Directory.CreateDirectory(data);
        var garbage = new byte[16384];
        new Random(20).NextBytes(garbage);
        File.WriteAllBytes(Path.Combine(data, "state.db"), garbage);

        var r = await Understudy.Testing.Cli.RunAsync(data, "agent", "--listen", $"127.0.0.1:{Ports.Free()}", "--api-listen", $"127.0.0.1:{Ports.Free()}");

        Assert.True(r.ExitCode == 2, $"exit {r.ExitCode}: {r.Stderr}{r.Stdout}");
        Assert.Contains("state.db", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("damaged", r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", r.Stderr, StringComparison.Ordinal);
        Assert.Equal(garbage, File.ReadAllBytes(Path.Combine(data, "state.db"))); // left as it was, for the operator
    }
}
