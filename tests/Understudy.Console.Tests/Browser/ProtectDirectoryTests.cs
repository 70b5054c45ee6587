using Microsoft.Playwright;
using Understudy.Testing;
using Understudy.Console.Tests.Support;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Understudy.Console.Tests.Browser;

public sealed class ProtectDirectoryTests
{
    [ChromiumFact]
    public async Task GuidedForm_CreatesJobOnSource_MirrorReaches100_EventsArriveLive_VerifyShowsIdentical()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        for (int i = 0; i < 40; i++)
            await File.WriteAllBytesAsync(Path.Combine(pair.SourceData, $"file{i:00}.bin"), new byte[64 * 1024 + i]);
        await using var b = await BrowserSession.StartAsync();
        var page = b.Page;

        await page.GotoAsync(await pair.Source.ConsoleUrlAsync());
        await Expect(page.Locator(".agent .conn")).ToContainTextAsync("connected");

        // A second agent, through the login form: the console manages both.
        await page.GetByRole(AriaRole.Button, new() { Name = "Add agent" }).ClickAsync();
        await page.GetByLabel("Agent API URL").FillAsync(pair.Target.Url());
        await page.GetByLabel("API token").FillAsync(pair.Target.Token());
        await page.GetByRole(AriaRole.Button, new() { Name = "Connect", Exact = true }).ClickAsync();
        await Expect(page.Locator(".agent .conn.ok")).ToHaveCountAsync(2);

        await page.GetByRole(AriaRole.Button, new() { Name = "Protect a directory" }).ClickAsync();
        var wizard = page.GetByRole(AriaRole.Dialog, new() { Name = "Protect a directory" });
        await Expect(wizard).ToBeVisibleAsync();
        await wizard.GetByLabel("Source agent").SelectOptionAsync(pair.Source.Url());
        await wizard.GetByLabel("Job name").FillAsync("Web Data");
        await Expect(wizard.Locator("#err-name")).ToContainTextAsync("lowercase");
        await Expect(wizard.GetByLabel("Job name")).ToHaveAttributeAsync("aria-invalid", "true");
        await wizard.GetByLabel("Job name").FillAsync("web-data");
        await wizard.GetByLabel("Source directories, one per line").FillAsync(pair.SourceData);
        await wizard.GetByLabel("Target agent", new() { Exact = true }).SelectOptionAsync(pair.Target.Url());
        await Expect(wizard.GetByLabel("Target agent ID")).ToHaveValueAsync(pair.Target.Id);
        await Expect(wizard.GetByLabel("Target peer address")).ToHaveValueAsync(pair.Target.PeerAddress);
        await wizard.GetByLabel("Target directory").FillAsync(pair.TargetData);
        await wizard.GetByLabel("checksum (blocks)").CheckAsync();
        await Expect(wizard.Locator("#wiz-yaml")).ToContainTextAsync("mode: checksum");
        await Expect(wizard.Locator("#wiz-errors li")).ToHaveCountAsync(0);
        await b.ScreenshotAsync("protect-a-directory");
        await wizard.GetByRole(AriaRole.Button, new() { Name = "Apply job" }).ClickAsync();
        await Expect(wizard).ToBeHiddenAsync();

        var card = page.Locator("article.job[data-job='web-data'][data-role='source']");
        await Expect(card.Locator(".progress")).ToHaveAttributeAsync("data-percent", "100", new() { Timeout = 120_000 });
        // Mirrored, with replication on (the default): the job replicates changes as they happen.
        await Expect(card.Locator(".state")).ToHaveTextAsync("replicating");
        await Expect(card.Locator(".progress")).ToContainTextAsync("40/40 files");
        // "mirror complete" happens after the page loaded its history: it can only have come over the live stream.
        var complete = page.Locator("#event-log li").Filter(new() { HasText = "mirror complete" });
        await Expect(complete).ToHaveCountAsync(1);
        await Expect(page.Locator("article.job[data-job='web-data'][data-role='target']")).ToBeVisibleAsync();
        await b.ScreenshotAsync("jobs-mirrored", fullPage: true);

        // The event log filters by severity and job.
        await page.GetByLabel("Severity").SelectOptionAsync("error");
        await Expect(complete).ToBeHiddenAsync();
        await page.GetByLabel("Severity").SelectOptionAsync("");
        await page.GetByLabel("Job", new() { Exact = true }).SelectOptionAsync("web-data");
        await Expect(complete).ToBeVisibleAsync();
        await Expect(page.Locator("#event-log li").Filter(new() { HasText = "agent src started" })).ToBeHiddenAsync();

        // An action with its confirmation.
        await card.GetByRole(AriaRole.Button, new() { Name = "Verify…" }).ClickAsync();
        var confirm = page.GetByRole(AriaRole.Dialog, new() { Name = "Verify web-data" });
        await confirm.GetByLabel("Compare content (slower), not only size, time and metadata").CheckAsync();
        await b.ScreenshotAsync("verify-confirm");
        await confirm.GetByRole(AriaRole.Button, new() { Name = "Verify", Exact = true }).ClickAsync();
        await Expect(card.Locator(".verify")).ToContainTextAsync("identical (40 entries, by content)", new() { Timeout = 60_000 });
    }
}
