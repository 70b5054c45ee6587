using Understudy.Agent.Tests.Support;
using TestCli = Understudy.Agent.Tests.Support.Cli;
using Xunit;

namespace Understudy.Console.Tests.Api;

/// <summary>`understudy job new` from flags, as scripts use it (the interactive prompts need a terminal).</summary>
public sealed class JobNewTests
{
    [Fact]
    public async Task JobNew_FromFlags_WritesTheCanonicalJobFile()
    {
        using var dir = new TempDir();
        var id = new string('b', 64);
        var r = await TestCli.RunAsync(dir.Path, "job", "new", "--no-prompt", "--name", "web", "--source", "/srv/www", "--source", "/srv/files",
            "--exclude", "*.tmp", "--target-address", "backup1:7420", "--target-id", id, "--target-path", "/srv/replica",
            "--mode", "checksum", "--monitor", "192.0.2.10", "--trigger", "manual");
        r.EnsureOk();
        Assert.Contains("name: web", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("mode: checksum", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("queue_limit:", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("192.0.2.10", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("/srv/files", r.Stdout, StringComparison.Ordinal);

        var file = dir.Sub("web.yaml");
        (await TestCli.RunAsync(dir.Path, "job", "new", "--no-prompt", "--name", "web", "--source", "/srv/www", "--target-address", "backup1",
            "--target-id", id, "--target-path", "/srv/replica", "-o", file)).EnsureOk();
        Assert.Contains("id: " + id, File.ReadAllText(file), StringComparison.Ordinal);
    }

    [Fact]
    public async Task JobNew_NoPrompt_NamesEveryMissingFlag_AndRejectsBadValues()
    {
        using var dir = new TempDir();
        var missing = await TestCli.RunAsync(dir.Path, "job", "new", "--no-prompt", "--name", "web");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("--source", missing.Stderr, StringComparison.Ordinal);
        Assert.Contains("--target-id", missing.Stderr, StringComparison.Ordinal);

        var bad = await TestCli.RunAsync(dir.Path, "job", "new", "--no-prompt", "--name", "Web!", "--source", "/a", "--target-address", "h",
            "--target-id", new string('c', 64), "--target-path", "/b");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--name", bad.Stderr, StringComparison.Ordinal);
    }
}
