using Microsoft.Playwright;
using Understudy.Testing;
using Understudy.Console.Tests.Support;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Understudy.Console.Tests.Browser;

public sealed class LoginTests
{
    [ChromiumFact]
    public async Task WrongToken_ShowsTheAgentsRefusal_ThenConsoleUrlLink_LogsInAndLeavesNoTokenInTheAddressBar()
    {
        using var dir = new TempDir();
        await using var agent = new AgentProcess(dir.Sub("alpha"), "alpha");
        await agent.StartAsync();
        await using var b = await BrowserSession.StartAsync();
        var page = b.Page;

        await page.GotoAsync(agent.Url() + "/");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Connect to an agent" })).ToBeVisibleAsync();
        await page.GetByLabel("API token").FillAsync("not-the-token");
        await page.GetByRole(AriaRole.Button, new() { Name = "Connect", Exact = true }).ClickAsync();
        await Expect(page.Locator("#login-error")).ToContainTextAsync("refused the token");
        await b.ScreenshotAsync("login-bad-token");

        // A link with a wrong token is kept, and the agent's section says why it is not connected.
        await page.GotoAsync(agent.Url() + "/?token=wrong");
        await Expect(page.Locator(".agent .conn")).ToContainTextAsync("refused the token");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Enter token" })).ToBeVisibleAsync();
        Assert.DoesNotContain("token=", page.Url, StringComparison.Ordinal);

        var link = await agent.ConsoleUrlAsync();
        Assert.Equal($"{agent.Url()}/?token={agent.Token()}", link);
        await page.GotoAsync(link);
        await Expect(page.Locator(".agent .conn")).ToContainTextAsync("connected");
        await Expect(page.Locator(".agent h3")).ToContainTextAsync("alpha");
        Assert.DoesNotContain("token=", page.Url, StringComparison.Ordinal);
        Assert.Equal(agent.Token(), await page.EvaluateAsync<string>("JSON.parse(localStorage.getItem('understudy.agents'))[0].token"));
        await Expect(page.Locator("#event-log li").Filter(new() { HasText = "agent alpha started" })).ToHaveCountAsync(1);
    }
}
