using Understudy.Testing;
using TestCli = Understudy.Testing.Cli;
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

    [Fact]
    public async Task JobCheck_ValidFile_Exit0_BrokenFile_NamesFileLineAndKey_Exit2()
    {
        using var dir = new TempDir();
        var good = dir.Sub("good.yaml");
        var id = new string('d', 64);
        (await TestCli.RunAsync(dir.Path, "job", "new", "--no-prompt", "--name", "web", "--source", "/srv/www", "--target-address", "bak",
            "--target-id", id, "--target-path", "/srv/replica", "-o", good)).EnsureOk();
        var ok = await TestCli.RunAsync(dir.Path, "job", "check", good);
        Assert.Equal(0, ok.ExitCode);
        Assert.Contains("job 'web' is valid", ok.Stdout, StringComparison.Ordinal);

        var bad = dir.Sub("bad.yaml");
        await File.WriteAllTextAsync(bad, (await File.ReadAllTextAsync(good)).Replace("mode: different", "mode: sometimes", StringComparison.Ordinal));
        var r = await TestCli.RunAsync(dir.Path, "job", "check", good, bad, dir.Sub("missing.yaml"));
        Assert.Equal(2, r.ExitCode);
        Assert.Matches(@"bad\.yaml:\d+:\d+: key 'mirror\.mode'", r.Stderr);
        Assert.Contains("missing.yaml: cannot read", r.Stderr, StringComparison.Ordinal);
    }
}
