using System.Text.Json.Nodes;
using Understudy.Agent.Events;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Failover;

/// <summary>
/// Issue 19, item 2: a trusted source's fail-over plan runs as root on the target, so the target's operator approves it
/// first. Real agents on loopback: nothing fails over (manual or automatic) until `failover NAME --approve`, a changed
/// plan needs approval again, and scripts run only from the target's scripts directory.
/// </summary>
public sealed class PlanApprovalTests
{
    private static string Plan(AgentPair pair, string trigger = "manual", string misses = "3", string scripts = "") => $$"""
        failover:
          trigger: {{trigger}}
          monitor:
            addresses: [ { address: 127.0.0.1, method: tcp, port: {{pair.Source.PeerPort}} } ]
            interval: 200ms
            misses: {{misses}}
        {{scripts}}
        """;

    private static async Task ProtectingAsync(AgentPair pair) =>
        await Wait.UntilAsync(async () => (await pair.Target.FailoverAsync("job1"))?["addresses"]?[0]?["state"]?.GetValue<string>() == "up",
            TimeSpan.FromSeconds(30), "the target to see the source's peer port answer");

    [Fact]
    public async Task Plan_NotApproved_ManualFailoverRefused_ShownThenApproved_FailsOver()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        File.WriteAllText(Path.Combine(pair.SourceData, "a.txt"), "hello");
        await pair.ApplyAsync(pair.JobYaml(extra: Plan(pair)));
        await pair.WaitMirroredAsync();
        await ProtectingAsync(pair);
        Assert.Contains(EventCode.PlanAwaitsApproval, (await pair.Target.EventsAsync("job1")).Codes());

        var refused = await pair.Target.CliAsync("failover", "job1");
        Assert.True(refused.ExitCode == 2, refused.Stdout + refused.Stderr);
        Assert.Contains("not approved", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("--approve", refused.Stderr, StringComparison.Ordinal);
        Assert.Equal("protecting", (await pair.Target.FailoverAsync("job1"))!["state"]!.GetValue<string>());

        var show = await pair.Target.CliAsync("failover", "job1", "--show");
        Assert.True(show.ExitCode == 0, show.Stdout + show.Stderr);
        Assert.Contains("NOT APPROVED", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("trigger: manual", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("stop replication", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("plan NOT approved", (await pair.Target.CliAsync("status")).Stdout, StringComparison.Ordinal);

        var approve = await pair.Target.CliAsync("failover", "job1", "--approve");
        Assert.True(approve.ExitCode == 0, approve.Stdout + approve.Stderr);
        Assert.Contains("approved", approve.Stdout, StringComparison.Ordinal);
        Assert.True((await pair.Target.FailoverAsync("job1"))!["plan"]!["approved"]!.GetValue<bool>());

        var run = await pair.Target.CliAsync("failover", "job1");
        Assert.True(run.ExitCode == 0, run.Stdout + run.Stderr);
        Assert.Equal("failed-over", (await pair.Target.FailoverAsync("job1"))!["state"]!.GetValue<string>());
        Assert.Contains(EventCode.PlanApproved, (await pair.Target.EventsAsync("job1")).Codes());
    }

    [Fact]
    public async Task Plan_AutomaticTrigger_NotApproved_SourceGone_GoesPendingAndRunsNothing()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        await pair.ApplyAsync(pair.JobYaml(extra: Plan(pair, trigger: "automatic")));
        await pair.WaitMirroredAsync();
        await ProtectingAsync(pair);

        pair.Source.Kill();
        await Wait.UntilAsync(async () => (await pair.Target.FailoverAsync("job1"))?["state"]?.GetValue<string>() == "fail-over-pending",
            TimeSpan.FromSeconds(30), "the lost source to raise a pending fail-over, not an automatic one");
        var events = await pair.Target.EventsAsync("job1");
        Assert.Contains(EventCode.FailoverNotApproved, events.Codes());
        Assert.DoesNotContain(EventCode.FailoverTriggered, events.Codes());
        Assert.DoesNotContain(EventCode.StepStarted, events.Codes());
    }

    [Fact]
    public async Task Plan_ChangedAfterApproval_NeedsApprovalAgain_ShowSaysWhatChanged()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        await pair.ApplyAsync(pair.JobYaml(extra: Plan(pair)));
        await pair.WaitMirroredAsync();
        await ProtectingAsync(pair);
        await pair.Target.ApproveFailoverAsync("job1");
        var first = JsonNode.Parse((await pair.Target.CliAsync("failover", "job1", "--show", "--json")).Stdout)!;
        Assert.True(first["approved"]!.GetValue<bool>());

        await pair.ApplyAsync(pair.JobYaml(extra: Plan(pair, trigger: "automatic", misses: "4")));
        await Wait.UntilAsync(async () => (await pair.Target.FailoverAsync("job1"))?["trigger"]?.GetValue<string>() == "automatic",
            TimeSpan.FromSeconds(30), "the changed plan to reach the target");
        var show = await pair.Target.CliAsync("failover", "job1", "--show");
        Assert.Contains("CHANGED since the plan approved", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("+ trigger: automatic", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("- trigger: manual", show.Stdout, StringComparison.Ordinal);
        Assert.Contains(EventCode.PlanChanged, (await pair.Target.EventsAsync("job1")).Codes());

        var refused = await pair.Target.CliAsync("failover", "job1");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("changed since it was approved", refused.Stderr, StringComparison.Ordinal);

        // Approving a digest that is no longer the plan's is refused: the operator approves what was shown.
        var stale = await pair.Target.CliAsync("failover", "job1", "--approve", "--digest", first["digest"]!.GetValue<string>());
        Assert.Equal(2, stale.ExitCode);
        Assert.Contains("changed since it was shown", stale.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plan_ScriptRunsFromTheTargetsScriptsDirectory_NotFromTheReplica()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        var marker = pair.Dir.Sub("ran.txt");
        // A script that reached the target through replication: the plan must not be able to run it.
        File.WriteAllText(Path.Combine(pair.SourceData, "evil.sh"), $"#!/bin/sh\necho replica > {marker}\n");
        File.SetUnixFileMode(Path.Combine(pair.SourceData, "evil.sh"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var name = pair.Target.WriteScript("post.sh", $"echo \"scripts dir $UNDERSTUDY_PHASE\" > {marker}");
        var rel = Path.GetRelativePath(pair.Target.ScriptsDir, Path.Combine(pair.TargetData, "evil.sh"));
        Assert.StartsWith("..", rel, StringComparison.Ordinal);
        var badFile = pair.Dir.Sub("bad.yaml");
        File.WriteAllText(badFile, pair.JobYaml(extra: Plan(pair, scripts: $"  scripts:\n    post_failover: [ {{ run: \"{rel}\" }} ]")));
        var bad = await pair.Source.CliAsync("job", "apply", badFile);
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("scripts directory", bad.Stderr, StringComparison.Ordinal);

        await pair.ApplyAsync(pair.JobYaml(extra: Plan(pair, scripts: $"  scripts:\n    post_failover: [ {{ run: {name} }} ]")));
        await pair.WaitMirroredAsync();
        await ProtectingAsync(pair);
        var show = await pair.Target.CliAsync("failover", "job1", "--show");
        Assert.Contains(Path.Combine(pair.Target.ScriptsDir, name), show.Stdout, StringComparison.Ordinal);
        await pair.Target.ApproveFailoverAsync("job1");
        (await pair.Target.CliAsync("failover", "job1")).EnsureOk();
        Assert.Equal("scripts dir post-failover", File.ReadAllText(marker).Trim());
    }
}
