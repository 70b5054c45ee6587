using System.Text.RegularExpressions;
using Understudy.Testing;
using Understudy.Console.Tests.Support;
using TestCli = Understudy.Testing.Cli;
using Xunit;

namespace Understudy.Console.Tests.Api;

/// <summary>What `--help` tells a script writer: each verb's exit codes, and docs/cli.md's table covering every verb.</summary>
public sealed class CliHelpTests
{
    private static async Task<string> HelpAsync(params string[] verb)
    {
        using var dir = new TempDir();
        var r = await TestCli.RunAsync(dir.Path, [.. verb, "--help"]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        // Help wraps long descriptions: one line, single spaces.
        return Regex.Replace(r.Stdout, "\\s+", " ");
    }

    [Theory]
    [InlineData("failover", "1: aborted and undone", "2: refused")]
    [InlineData("failback", "1: aborted and undone", "2: refused")]
    [InlineData("restore", "2: refused", "3: --wait timed out")]
    [InlineData("verify", "1: differences", "2: error")]
    [InlineData("wait", "1: the job failed", "3: timed out")]
    [InlineData("stop", "Exit 0: stopped", "2: no such job")]
    [InlineData("start", "Exit 0: started", "2: no such job")]
    [InlineData("pause", "Exit 0: paused", "the job is stopped")]
    [InlineData("mirror", "Exit 0: started", "the job is stopped")]
    [InlineData("job check", "Exit 0: every file is valid", "2: a file is wrong")]
    public async Task VerbHelp_SaysWhatEachExitCodeMeans(string verb, string first, string second)
    {
        var help = await HelpAsync(verb.Split(' '));
        Assert.Contains(first, help, StringComparison.Ordinal);
        Assert.Contains(second, help, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RootAndStatusHelp_SayWhatTheyCover()
    {
        var root = await HelpAsync();
        Assert.Contains("Every verb but 'agent', 'id', 'demo', 'job new' and 'job check' talks to an agent's management API", root, StringComparison.Ordinal);
        var status = await HelpAsync("status");
        Assert.Contains("fail-over", status, StringComparison.Ordinal);
        Assert.Contains("restore", status, StringComparison.Ordinal);
        Assert.Contains("conflict", status, StringComparison.Ordinal);
        Assert.Contains("--dry-run", await HelpAsync("failback"), StringComparison.Ordinal);
    }

    /// <summary>docs/cli.md's exit-code table has a row naming each verb the CLI has.</summary>
    [Fact]
    public async Task CliDoc_ExitCodeTableCoversEveryVerb()
    {
        using var dir = new TempDir();
        var help = (await TestCli.RunAsync(dir.Path, "--help")).Stdout;
        var verbs = Regex.Matches(help[help.IndexOf("Commands:", StringComparison.Ordinal)..], "^  ([a-z-]+)", RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value)
            .ToList();
        Assert.Contains("failback", verbs);
        var md = await File.ReadAllTextAsync(Path.Combine(BrowserSession.RepoRoot, "docs", "cli.md"));
        var section = md[md.IndexOf("## Exit codes", StringComparison.Ordinal)..];
        section = section[..section.IndexOf("\n## ", 3, StringComparison.Ordinal)];
        var rows = section.Split('\n').Where(l => l.StartsWith("| `", StringComparison.Ordinal)).Select(l => l.Split(" | ")[0]).ToList();
        var missing = verbs.Where(v => !rows.Any(r => Regex.IsMatch(r, "`" + Regex.Escape(v) + "[ `\\\\|]"))).ToList();
        Assert.True(missing.Count == 0, $"docs/cli.md's exit-code table lacks: {string.Join(", ", missing)}");
    }
}
