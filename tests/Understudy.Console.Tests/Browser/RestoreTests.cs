using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Understudy.Testing;
using Understudy.Console.Tests.Support;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Understudy.Console.Tests.Browser;

/// <summary>
/// After a fail-over (two agents on loopback, no identity steps): the operator restores from the console,
/// sees the restore's phase, progress and the conflict it found, then fails back through a confirmation
/// that lists the steps.
/// </summary>
public sealed class RestoreTests
{
    [ChromiumFact]
    public async Task FailedOver_RestoreShowsPhaseProgressAndConflict_FailbackConfirmationListsTheSteps()
    {
        await using var pair = await StartDivergedFailoverAsync();
        await using var b = await BrowserSession.StartAsync();
        var page = b.Page;
        await page.GotoAsync(await pair.Target.ConsoleUrlAsync());
        await Expect(page.Locator(".agent .conn")).ToContainTextAsync("connected");
        var fo = page.Locator("article.job[data-job='job1'][data-role='target']").GetByRole(AriaRole.Region, new() { Name = "Fail-over of job1" });
        await Expect(fo.Locator(".fo-state")).ToHaveTextAsync("failed-over", new() { Timeout = 30_000 });
        var restore = fo.GetByRole(AriaRole.Region, new() { Name = "Restore of job1 to the source" });
        await Expect(restore).ToBeHiddenAsync();

        // Before a restore the fail-back dialog already says it would be refused, and what to run.
        await fo.GetByRole(AriaRole.Button, new() { Name = "Fail back…" }).ClickAsync();
        var confirm = page.GetByRole(AriaRole.Dialog, new() { Name = "Fail back job1" });
        await Expect(confirm.Locator(".refused")).ToContainTextAsync("would be refused now: job 'job1' is failed over but not restored: run 'understudy restore job1'");
        await confirm.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        await Expect(fo.Locator(".fo-state")).ToHaveTextAsync("failed-over");

        // Restore, with its option labelled from the agent's schema.
        await fo.GetByRole(AriaRole.Button, new() { Name = "Restore…" }).ClickAsync();
        confirm = page.GetByRole(AriaRole.Dialog, new() { Name = "Restore job1" });
        await Expect(confirm.GetByLabel("Force: with restore.conflicts: manual, park the diverged files and go on (after you inspected them)")).Not.ToBeCheckedAsync();
        await confirm.GetByRole(AriaRole.Button, new() { Name = "Restore", Exact = true }).ClickAsync();
        await Expect(fo.Locator(".fo-state")).ToHaveTextAsync("restoring");
        await Expect(fo.Locator(".action-msg")).ToHaveTextAsync("Restore of job1: restoring");

        await Expect(restore).ToHaveAttributeAsync("data-phase", "in sync", new() { Timeout = 90_000 });
        await Expect(restore.Locator(".restore-head")).ToContainTextAsync("in sync — source connected · last sync");
        await Expect(restore).ToHaveAttributeAsync("data-percent", "100");
        await Expect(restore.GetByRole(AriaRole.Progressbar)).ToHaveAttributeAsync("aria-labelledby", new System.Text.RegularExpressions.Regex("restore-\\d+-p"));
        var conflict = restore.Locator(".conflicts tbody tr");
        await Expect(conflict).ToHaveCountAsync(1);
        await Expect(restore.Locator(".conflicts-h")).ToContainTextAsync("1 conflict: changed on the source before the fail-over and on this target since");
        await Expect(conflict.Locator("td").Nth(0)).ToHaveTextAsync("b.txt");
        await Expect(conflict.Locator("td").Nth(1)).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^b\\.txt\\.understudy-conflict-src-\\d{8}T\\d{6}Z$"));
        var parked = Directory.GetFiles(pair.SourceData, "b.txt.understudy-conflict-src-*");
        Assert.Equal(Path.GetFileName(Assert.Single(parked)), await conflict.Locator("td").Nth(1).TextContentAsync());
        await b.ScreenshotAsync("restore-conflicts", fullPage: true);
        Assert.Empty(await b.UnnamedControlsAsync());

        // The CLI lists the same conflict (restore is idempotent while restoring), and the fail-back plan.
        var cli = (await pair.Target.CliAsync("restore", "job1")).EnsureOk().Stdout;
        Assert.Contains("job1: restoring, restore in sync:", cli, StringComparison.Ordinal);
        Assert.Contains($"    conflict b.txt → {Path.GetFileName(parked[0])} (the source's version, kept on the source)", cli, StringComparison.Ordinal);
        var dry = (await pair.Target.CliAsync("failback", "job1", "--dry-run")).EnsureOk().Stdout;
        Assert.Contains("fail-back of 'job1' (now restoring) would take these steps:", dry, StringComparison.Ordinal);
        Assert.Contains("final restore sync", dry, StringComparison.Ordinal);
        Assert.Contains("it may start now", dry, StringComparison.Ordinal);
        var dryJson = JsonNode.Parse((await pair.Target.CliAsync("failback", "job1", "--dry-run", "--json")).EnsureOk().Stdout)!;
        Assert.True(dryJson["dryRun"]!.GetValue<bool>());
        Assert.Null(dryJson["refused"]);
        Assert.Equal("restoring", dryJson["state"]!.GetValue<string>());

        // Fail back: the confirmation lists the steps (a dry run) and offers nothing that would do nothing.
        await fo.GetByRole(AriaRole.Button, new() { Name = "Fail back…" }).ClickAsync();
        confirm = page.GetByRole(AriaRole.Dialog, new() { Name = "Fail back job1" });
        await Expect(confirm.Locator(".steps li").Filter(new() { HasText = "final restore sync" })).ToHaveCountAsync(1);
        await Expect(confirm.Locator(".steps li").Filter(new() { HasText = "release the source's identity" })).ToHaveCountAsync(1);
        await Expect(confirm.GetByRole(AriaRole.Checkbox)).ToHaveCountAsync(0);
        await Expect(confirm.Locator(".refused")).ToHaveCountAsync(0);
        await b.ScreenshotAsync("failback-confirm");
        await confirm.GetByRole(AriaRole.Button, new() { Name = "Fail back", Exact = true }).ClickAsync();
        await Expect(fo.Locator(".fo-state")).ToHaveTextAsync("protecting", new() { Timeout = 120_000 });
        await Expect(fo.Locator(".action-msg")).ToHaveTextAsync("Fail back of job1: protecting");
        await Expect(restore).ToBeHiddenAsync();
        Assert.Equal("the target's version of a", await File.ReadAllTextAsync(Path.Combine(pair.SourceData, "a.txt")));
        Assert.Equal("new on the target", await File.ReadAllTextAsync(Path.Combine(pair.SourceData, "new.txt")));
    }

    /// <summary>
    /// A failed-over job whose source queued a change to b.txt it never sent (paused), and whose target then
    /// changed a.txt and b.txt and created new.txt: restoring it finds b.txt diverged. The source agent is
    /// passive and polls the target every 300 ms.
    /// </summary>
    private static async Task<AgentPair> StartDivergedFailoverAsync()
    {
        var pair = new AgentPair();
        try
        {
            foreach (var a in new[] { pair.Source, pair.Target })
            {
                a.Environment["UNDERSTUDY_PASSIVE_POLL_MS"] = "300";
                a.Environment["UNDERSTUDY_RESTORE_SYNC_MS"] = "300";
            }
            await pair.StartAsync();
            await File.WriteAllTextAsync(Path.Combine(pair.SourceData, "a.txt"), "one");
            await File.WriteAllTextAsync(Path.Combine(pair.SourceData, "b.txt"), "two");
            await pair.ApplyAsync(pair.JobYaml(extra: $$"""
                failover:
                  trigger: manual
                  monitor:
                    addresses: [ { address: 127.0.0.1, method: tcp, port: {{pair.Source.PeerPort}} } ]
                    interval: 200ms
                    misses: 3
                """));
            await pair.WaitMirroredAsync();
            await Wait.UntilAsync(async () => await FailoverStateAsync(pair.Target) == "protecting", TimeSpan.FromSeconds(30), "monitoring");

            (await pair.Source.CliAsync("pause", "job1")).EnsureOk();
            await File.WriteAllTextAsync(Path.Combine(pair.SourceData, "b.txt"), "source change that never reached the target");
            await Wait.UntilAsync(async () => (await pair.Source.StatusAsync("job1"))["replication"]?["opsPending"]?.GetValue<long>() > 0,
                TimeSpan.FromSeconds(30), "the change to be queued");
            await pair.Target.ApproveFailoverAsync("job1");
            (await pair.Target.CliAsync("failover", "job1")).EnsureOk();
            (await pair.Source.CliAsync("resume", "job1")).EnsureOk();
            await Wait.UntilAsync(async () => (await pair.Source.StatusAsync("job1"))["state"]?.GetValue<string>() == "failed-over (passive)",
                TimeSpan.FromSeconds(30), "the source to turn passive");

            await File.WriteAllTextAsync(Path.Combine(pair.TargetData, "a.txt"), "the target's version of a");
            await File.WriteAllTextAsync(Path.Combine(pair.TargetData, "b.txt"), "the target's version of b");
            await File.WriteAllTextAsync(Path.Combine(pair.TargetData, "new.txt"), "new on the target");
            return pair;
        }
        catch
        {
            await pair.DisposeAsync();
            throw;
        }
    }

    private static async Task<string?> FailoverStateAsync(AgentProcess target) =>
        JsonNode.Parse((await target.CliAsync("status", "--json")).Stdout)!["failover"]!.AsArray()
            .FirstOrDefault(f => f!["name"]!.GetValue<string>() == "job1")?["state"]?.GetValue<string>();
}
