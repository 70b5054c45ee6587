using Understudy.Testing;
using Xunit;

namespace Understudy.Console.Tests.Api;

/// <summary>The CLI's text output against real agents whose names carry terminal escapes (issue 19, item 7).</summary>
public sealed class CliNameEscapingTests
{
    /// <summary>Peer-supplied names are printed escaped: an agent name with a terminal escape does not reach the terminal raw.</summary>
    [Fact]
    public async Task NamesWithControlCharacters_ArePrintedEscaped()
    {
        using var dir = new TempDir();
        await using var agent = new AgentProcess(dir.Sub("alpha"), "alpha");
        await agent.StartAsync();
        await using var evil = new AgentProcess(dir.Sub("evil"), "evil\u001b]0;owned\u0007\u001b[2J");
        await evil.StartAsync();
        (await agent.CliAsync("trust", "add", evil.Id, "--name", "peer\u001b[31mred\r\nfake line")).EnsureOk();
        var list = (await agent.CliAsync("trust", "list")).EnsureOk().Stdout;
        Assert.DoesNotContain('\u001b', list);
        Assert.DoesNotContain('\r', list);
        Assert.Contains(@"peer\x1b[31mred\r\nfake line", list, StringComparison.Ordinal);
        var status = (await evil.CliAsync("status")).EnsureOk().Stdout;
        Assert.DoesNotContain('\u001b', status);
        Assert.DoesNotContain('\u0007', status);
        Assert.Contains(@"evil\x1b]0;owned\x07\x1b[2J", status, StringComparison.Ordinal);
    }
}
