using Microsoft.Playwright;
using Understudy.Testing;
using Understudy.Console.Tests.Support;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Understudy.Console.Tests.Browser;

/// <summary>A source job's live replication chart and its controls, each through its confirmation: pause and resume,
/// stop and start, and a verify that finds a difference planted on the target.</summary>
public sealed class JobControlTests
{
    [ChromiumFact]
    public async Task ReplicatingJob_ChartIsLive_PauseResume_StopStart_VerifyListsAPlantedDifference()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        for (int i = 0; i < 5; i++)
            await File.WriteAllTextAsync(Path.Combine(pair.SourceData, $"f{i}.txt"), $"file {i}");
        await pair.ApplyAsync(pair.JobYaml());
        await pair.WaitMirroredAsync();
        await using var b = await BrowserSession.StartAsync();
        var page = b.Page;
        await page.GotoAsync(await pair.Source.ConsoleUrlAsync());
        var card = page.Locator("article.job[data-job='job1'][data-role='source']");
        await Expect(card.Locator(".state")).ToHaveTextAsync("replicating", new() { Timeout = 30_000 });

        // The live chart of the queue: one sample a second, named for a screen reader with its current value.
        var chart = card.Locator("figure.chart").Filter(new() { HasText = "ops pending" });
        await Expect(chart).ToBeVisibleAsync();
        await Expect(chart.Locator("svg[role=img]")).ToHaveAttributeAsync("aria-label", new System.Text.RegularExpressions.Regex("^ops pending over the last ([3-9]|\\d\\d+) seconds, now 0"));

        // Pause: the changes queue up on the source and the chart shows them.
        await card.GetByRole(AriaRole.Button, new() { Name = "Pause…" }).ClickAsync();
        var confirm = page.GetByRole(AriaRole.Dialog, new() { Name = "Pause: job1" });
        await Expect(confirm).ToContainTextAsync("Changes keep being captured");
        await confirm.GetByRole(AriaRole.Button, new() { Name = "Pause", Exact = true }).ClickAsync();
        await Expect(card.Locator(".state")).ToHaveTextAsync("paused");
        await Expect(card.Locator(".reason")).ToContainTextAsync("paused by user");
        await Expect(card.Locator(".action-msg")).ToHaveTextAsync("Pause of job1: paused");
        // Pause turned into Resume; the keyboard focus followed.
        var resume = card.GetByRole(AriaRole.Button, new() { Name = "Resume…" });
        await Expect(resume).ToBeFocusedAsync();
        await Expect(card.GetByRole(AriaRole.Button, new() { Name = "Pause…" })).ToBeHiddenAsync();
        await File.WriteAllTextAsync(Path.Combine(pair.SourceData, "while-paused.txt"), "queued");
        await Expect(chart.Locator(".chart-value")).Not.ToHaveTextAsync("0", new() { Timeout = 30_000 });
        Assert.False(File.Exists(Path.Combine(pair.TargetData, "while-paused.txt")));
        await b.ScreenshotAsync("job-paused");

        await page.Keyboard.PressAsync("Enter");
        confirm = page.GetByRole(AriaRole.Dialog, new() { Name = "Resume: job1" });
        await confirm.GetByRole(AriaRole.Button, new() { Name = "Resume", Exact = true }).ClickAsync();
        await Expect(card.Locator(".state")).ToHaveTextAsync("replicating");
        await Expect(chart.Locator(".chart-value")).ToHaveTextAsync("0", new() { Timeout = 30_000 });
        await Wait.UntilAsync(() => File.Exists(Path.Combine(pair.TargetData, "while-paused.txt")), TimeSpan.FromSeconds(30), "the queued change to arrive");

        // Stop and start: the whole job, with its reason; only Start applies while stopped.
        await card.GetByRole(AriaRole.Button, new() { Name = "Stop…" }).ClickAsync();
        confirm = page.GetByRole(AriaRole.Dialog, new() { Name = "Stop: job1" });
        await Expect(confirm).ToContainTextAsync("stays stopped (also across agent restarts)");
        await confirm.GetByRole(AriaRole.Button, new() { Name = "Stop", Exact = true }).ClickAsync();
        await Expect(card.Locator(".state")).ToHaveTextAsync("stopped");
        await Expect(card.Locator(".reason")).ToContainTextAsync("stopped by user at");
        var start = card.GetByRole(AriaRole.Button, new() { Name = "Start…" });
        await Expect(start).ToBeFocusedAsync();
        foreach (var hidden in new[] { "Mirror…", "Verify…", "Pause…", "Stop…" })
            await Expect(card.GetByRole(AriaRole.Button, new() { Name = hidden })).ToBeHiddenAsync();
        await b.ScreenshotAsync("job-stopped");
        Assert.Empty(await b.UnnamedControlsAsync());
        await start.ClickAsync();
        confirm = page.GetByRole(AriaRole.Dialog, new() { Name = "Start: job1" });
        await confirm.GetByRole(AriaRole.Button, new() { Name = "Start", Exact = true }).ClickAsync();
        await Expect(card.Locator(".state")).ToHaveTextAsync("replicating", new() { Timeout = 60_000 });
        (await pair.Source.CliAsync("wait", "job1", "--until", "idle", "--timeout", "60")).EnsureOk();

        // A difference planted on the target: verify by content lists its path, once for the content and once for the
        // mtime the write changed (each kind of difference is its own row).
        await File.WriteAllTextAsync(Path.Combine(pair.TargetData, "f3.txt"), "FILE 3");
        await card.GetByRole(AriaRole.Button, new() { Name = "Verify…" }).ClickAsync();
        confirm = page.GetByRole(AriaRole.Dialog, new() { Name = "Verify job1" });
        await confirm.GetByLabel("Compare content (slower), not only size, time and metadata").CheckAsync();
        await confirm.GetByRole(AriaRole.Button, new() { Name = "Verify", Exact = true }).ClickAsync();
        var verify = card.Locator(".verify");
        await Expect(verify).ToContainTextAsync("2 differences", new() { Timeout = 60_000 });
        await Expect(card.Locator(".action-msg")).ToHaveTextAsync("Verify of job1: 2 differences");
        await verify.GetByText("Show differences").ClickAsync();
        var rows = verify.Locator("tbody tr");
        await Expect(rows).ToHaveCountAsync(2);
        await Expect(rows.Nth(0).Locator("td").Nth(0)).ToHaveTextAsync("content");
        await Expect(rows.Nth(0).Locator("td").Nth(1)).ToHaveTextAsync("f3.txt");
        await Expect(rows.Nth(1).Locator("td").Nth(0)).ToHaveTextAsync("mtime");
        await b.ScreenshotAsync("verify-differences", fullPage: true);
    }
}
