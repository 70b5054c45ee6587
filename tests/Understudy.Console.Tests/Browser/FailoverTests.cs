using Microsoft.Playwright;
using Understudy.Testing;
using Understudy.Console.Tests.Support;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Understudy.Console.Tests.Browser;

public sealed class FailoverTests
{
    /// <summary>
    /// The target watches the source agent's peer port; killing the source makes it disappear. The
    /// job has no identity steps (no addresses, no shares), so the fail-over needs no root network change.
    /// </summary>
    [ChromiumFact]
    public async Task ManualFailover_SourceGone_ConsoleShowsPending_OperatorFailsOver_StateBecomesFailedOver()
    {
        await using var pair = await StartWatchedPairAsync();
        await using var b = await BrowserSession.StartAsync();
        var page = b.Page;
        await OpenBothAgentsAsync(page, pair);

        var card = page.Locator("article.job[data-job='job1'][data-role='target']");
        var fo = card.GetByRole(AriaRole.Region, new() { Name = "Fail-over of job1" });
        await Expect(fo.Locator(".fo-state")).ToHaveTextAsync("protecting", new() { Timeout = 30_000 });
        var address = fo.Locator(".addresses li");
        await Expect(address).ToHaveAttributeAsync("data-state", "up");
        await Expect(address).ToContainTextAsync($"127.0.0.1:{pair.Source.PeerPort} (tcp): up");
        await Expect(fo.Locator(".fo-left")).ToContainTextAsync("before an operator is asked to fail over");
        await Expect(fo.GetByRole(AriaRole.Button, new() { Name = "Dismiss…" })).ToBeHiddenAsync();
        // The target's operator approved the plan (`failover job1 --approve`): nothing fails over before (issue 19, item 2).
        await pair.Target.ApproveFailoverAsync("job1");

        pair.Source.Kill();
        await Expect(fo.Locator(".fo-state")).ToHaveTextAsync("fail-over-pending", new() { Timeout = 30_000 });
        await Expect(address).ToHaveAttributeAsync("data-state", "lost");
        await Expect(address).ToContainTextAsync("probes missed");
        await Expect(page.Locator(".agent[data-stale] .stale")).ToContainTextAsync("last known state");
        await Expect(fo.GetByRole(AriaRole.Alert)).ToContainTextAsync("Fail-over pending");
        await Expect(card).ToHaveAttributeAsync("data-failover", "fail-over-pending");
        // The pending alert arrived as an event over the live stream too.
        await Expect(page.Locator("#event-log li.sev-error").Filter(new() { HasText = "fail-over pending" })).ToHaveCountAsync(1);
        await b.ScreenshotAsync("failover-pending", fullPage: true);
        Assert.Empty(await b.UnnamedControlsAsync());

        // Dry run: the steps, and nothing changes.
        await fo.GetByRole(AriaRole.Button, new() { Name = "Show fail-over steps" }).ClickAsync();
        await Expect(fo.Locator(".fo-steps li").First).ToContainTextAsync("stop replication");
        await Expect(fo.Locator(".fo-state")).ToHaveTextAsync("fail-over-pending");

        await fo.GetByRole(AriaRole.Button, new() { Name = "Fail over…" }).ClickAsync();
        var confirm = page.GetByRole(AriaRole.Dialog, new() { Name = "Fail over job1" });
        await Expect(confirm).ToContainTextAsync("Answer the pending fail-over");
        await Expect(confirm.Locator(".steps li").First).ToContainTextAsync("stop replication");
        await b.ScreenshotAsync("failover-confirm");
        await confirm.GetByRole(AriaRole.Button, new() { Name = "Fail over", Exact = true }).ClickAsync();
        await Expect(confirm).ToBeHiddenAsync();

        await Expect(fo.Locator(".fo-state")).ToHaveTextAsync("failed-over", new() { Timeout = 60_000 });
        await Expect(fo.Locator(".action-msg")).ToContainTextAsync("Fail-over of job1: failed-over");
        await Expect(fo.GetByRole(AriaRole.Button, new() { Name = "Fail over…" })).ToBeHiddenAsync();
        await Expect(page.Locator("#event-log li").Filter(new() { HasText = "failed over:" })).ToHaveCountAsync(1);
        await b.ScreenshotAsync("failed-over", fullPage: true);
        Assert.Equal("hello", await File.ReadAllTextAsync(Path.Combine(pair.TargetData, "a.txt")));

        // No CDN, no font or script from anywhere else: every request went to one of the two agents.
        lock (b.Requests)
            Assert.All(b.Requests, u => Assert.True(u.StartsWith(pair.Target.Url() + "/", StringComparison.Ordinal)
                || u.StartsWith(pair.Source.Url() + "/", StringComparison.Ordinal) || u.StartsWith("data:", StringComparison.Ordinal), u));
    }

    [ChromiumFact]
    public async Task PendingFailover_Dismissed_BackToProtecting_AndTheMonitorSaysItWillNotAskAgain()
    {
        await using var pair = await StartWatchedPairAsync();
        await using var b = await BrowserSession.StartAsync();
        var page = b.Page;
        await OpenBothAgentsAsync(page, pair);
        var fo = page.Locator("article.job[data-job='job1'][data-role='target']").GetByRole(AriaRole.Region, new() { Name = "Fail-over of job1" });
        await Expect(fo.Locator(".fo-state")).ToHaveTextAsync("protecting", new() { Timeout = 30_000 });

        pair.Source.Kill();
        await Expect(fo.Locator(".fo-state")).ToHaveTextAsync("fail-over-pending", new() { Timeout = 30_000 });
        await fo.GetByRole(AriaRole.Button, new() { Name = "Dismiss…" }).ClickAsync();
        var confirm = page.GetByRole(AriaRole.Dialog, new() { Name = "Dismiss the fail-over of job1" });
        // Cancel changes nothing; focus returns to the button.
        await confirm.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        await Expect(fo.Locator(".fo-state")).ToHaveTextAsync("fail-over-pending");
        await Expect(fo.GetByRole(AriaRole.Button, new() { Name = "Dismiss…" })).ToBeFocusedAsync();

        await page.Keyboard.PressAsync("Enter");
        await confirm.GetByRole(AriaRole.Button, new() { Name = "Dismiss", Exact = true }).ClickAsync();
        await Expect(fo.Locator(".fo-state")).ToHaveTextAsync("protecting");
        await Expect(fo.Locator(".fo-left")).ToContainTextAsync("Dismissed by an operator");
        await Expect(fo.GetByRole(AriaRole.Alert)).ToBeHiddenAsync();
        await Expect(page.Locator("#event-log li").Filter(new() { HasText = "fail-over dismissed by an operator" })).ToHaveCountAsync(1);
    }

    /// <summary>
    /// A witness (failover.witness) nobody answers at (a closed local port): the source card says its source fenced
    /// itself, and once the source is gone the target's panel says why it does not take over by itself.
    /// </summary>
    [ChromiumFact]
    public async Task WitnessUnreachable_SourceGone_PanelShowsTheWitnessAndNoTakeover()
    {
        // Port 1 on loopback: nothing listens, so each call to the witness fails at once (connection refused).
        // No trigger named: with a witness it is automatic.
        await using var pair = await StartWatchedPairAsync(witness: "  witness: { endpoints: [http://127.0.0.1:1], lease: 2s, renew: 500ms }\n", trigger: null);
        await using var b = await BrowserSession.StartAsync();
        var page = b.Page;
        await OpenBothAgentsAsync(page, pair);

        var source = page.Locator("article.job[data-job='job1'][data-role='source'] .witness");
        await Expect(source.Locator(".witness-state")).ToContainTextAsync("fenced", new() { Timeout = 30_000 });
        await Expect(source).ToHaveAttributeAsync("data-tone", "bad");
        var fo = page.Locator("article.job[data-job='job1'][data-role='target']").GetByRole(AriaRole.Region, new() { Name = "Fail-over of job1" });
        await Expect(fo.Locator(".fo-state")).ToHaveTextAsync("protecting", new() { Timeout = 30_000 });
        await Expect(fo.Locator(".fo-settings")).ToContainTextAsync("Trigger automatic");
        await Expect(fo.Locator(".witness")).ToContainTextAsync("http://127.0.0.1:1");
        await Expect(fo.Locator(".witness")).ToContainTextAsync("lease 2 s, renewed every 500 ms");
        await Expect(fo.Locator(".fo-left")).ToContainTextAsync("then only once the witness key is free");
        await pair.Target.ApproveFailoverAsync("job1");

        pair.Source.Kill();
        await Expect(fo.Locator(".witness .witness-state")).ToHaveTextAsync("unreachable", new() { Timeout = 30_000 });
        await Expect(fo.Locator(".witness")).ToHaveAttributeAsync("data-tone", "bad");
        await Expect(fo.Locator(".fo-state")).ToHaveTextAsync("suspect");
        await Expect(fo.Locator(".fo-reason")).ToContainTextAsync("the witness is unreachable");
        await b.ScreenshotAsync("failover-witness-unreachable", fullPage: true);
        Assert.Empty(await b.UnnamedControlsAsync());
    }

    /// <summary>A job on two agents whose target watches the source agent's peer port, mirrored.</summary>
    private static async Task<AgentPair> StartWatchedPairAsync(string witness = "", string? trigger = "manual")
    {
        var pair = new AgentPair();
        try
        {
            await pair.StartAsync();
            await File.WriteAllTextAsync(Path.Combine(pair.SourceData, "a.txt"), "hello");
            await pair.ApplyAsync(pair.JobYaml(extra: $$"""
                failover:
                {{(trigger is null ? "" : $"  trigger: {trigger}\n")}}  monitor:
                    addresses: [ { address: 127.0.0.1, method: tcp, port: {{pair.Source.PeerPort}} } ]
                    interval: 250ms
                    misses: 3
                {{witness}}
                """));
            await pair.WaitMirroredAsync();
            return pair;
        }
        catch
        {
            await pair.DisposeAsync();
            throw;
        }
    }

    /// <summary>The target's console (its console-url link), with the source added through the login form.</summary>
    private static async Task OpenBothAgentsAsync(IPage page, AgentPair pair)
    {
        await page.GotoAsync(await pair.Target.ConsoleUrlAsync());
        await Expect(page.Locator(".agent .conn")).ToContainTextAsync("connected");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add agent" }).ClickAsync();
        await page.GetByLabel("Agent API URL").FillAsync(pair.Source.Url());
        await page.GetByLabel("API token").FillAsync(pair.Source.Token());
        await page.GetByRole(AriaRole.Button, new() { Name = "Connect", Exact = true }).ClickAsync();
        await Expect(page.Locator(".agent .conn.ok")).ToHaveCountAsync(2);
    }
}
