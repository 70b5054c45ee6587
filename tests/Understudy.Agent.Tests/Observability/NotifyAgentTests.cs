using System.Text.Json.Nodes;
using Understudy.Agent.Events;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Observability;

/// <summary>Notifications from real agents (docs/monitoring.md) to a webhook receiver in the test process, which checks
/// every signature, and to a program.</summary>
public sealed class NotifyAgentTests
{
    private const string Secret = "a-shared-secret";

    private static string ExecScript(string dir, string output)
    {
        var script = Path.Combine(dir, "notify.sh");
        File.WriteAllText(script, $"#!/bin/sh\n{{ echo \"$UNDERSTUDY_NOTIFY_KIND $UNDERSTUDY_EVENT_CODE $UNDERSTUDY_JOB\"; cat; echo; }} >> {output}\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return script;
    }

    [Fact]
    public async Task PendingFailover_IsNotifiedAtOnce_RepeatedUntilAnswered_ThenTheCompletedFailover()
    {
        await using var hook = new WebhookReceiver(Secret);
        await using var pair = new AgentPair();
        var execOut = pair.Dir.Sub("exec-out.txt");
        Directory.CreateDirectory(pair.Target.DataDir);
        File.WriteAllText(Path.Combine(pair.Target.DataDir, "notify.yaml"), $"""
            destinations:
              - name: hook
                webhook: {"{"} url: "{hook.Url}", secret: {Secret} {"}"}
                backoff: 100ms
              - name: program
                exec: {"{"} run: {ExecScript(pair.Dir.Path, execOut)} {"}"}
            rules:
              - code: [FailoverPending, FailoverCompleted]
                to: [hook, program]
            pending_repeat: 1s
            """);
        await pair.StartAsync();
        File.WriteAllText(Path.Combine(pair.SourceData, "a.txt"), "hello");
        await pair.ApplyAsync(pair.JobYaml(extra: $$"""
            failover:
              monitor:
                addresses: [ { address: 127.0.0.1, method: tcp, port: {{pair.Source.PeerPort}} } ]
                interval: 200ms
                misses: 3
            """));
        await pair.WaitMirroredAsync();
        // Status, not an event: a first probe that answers records none (MonitorAddressUp is an address answering again).
        await Wait.UntilAsync(async () => (await Failback.FailbackAgentTests.FailoverOfAsync(pair.Target, "job1"))?["addresses"]?[0]?["state"]?.GetValue<string>() == "up",
            TimeSpan.FromSeconds(30), "the target to monitor the source");
        await pair.Target.ApproveFailoverAsync("job1");

        pair.Source.Kill();
        await Wait.UntilAsync(() => hook.Of("event", "FailoverPending").Any(), TimeSpan.FromSeconds(60), "the pending fail-over's notification");
        var first = hook.Of("event", "FailoverPending").First();
        Assert.Equal("job1", first["event"]!["job"]!.GetValue<string>());
        Assert.Equal(612, first["event"]!["code"]!.GetValue<int>());
        Assert.Equal("tgt", first["agent"]!["name"]!.GetValue<string>());
        // Repeated while nobody answers.
        await Wait.UntilAsync(() => hook.Of("reminder", "FailoverPending").Count() >= 2, TimeSpan.FromSeconds(30), "reminders of the pending fail-over");
        Assert.Contains("still waits for an operator", hook.Of("reminder", "FailoverPending").First()["event"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        (await pair.Target.CliAsync("failover", "job1")).EnsureOk();
        await Wait.UntilAsync(() => hook.Of("event", "FailoverCompleted").Any(), TimeSpan.FromSeconds(30), "the completed fail-over's notification");
        int reminders = hook.Of("reminder", "FailoverPending").Count();
        // Answered: no more reminders. Three repeat periods pass with at most the one that may have been on its way.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        await Wait.UntilAsync(() => DateTime.UtcNow > until, TimeSpan.FromSeconds(10), "three repeat periods");
        Assert.InRange(hook.Of("reminder", "FailoverPending").Count(), reminders, reminders + 1);

        Assert.Empty(hook.Refused);
        // The program got the same messages, the JSON on its standard input.
        await Wait.UntilAsync(() => File.Exists(execOut) && File.ReadAllText(execOut).Contains("event 614 job1", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "the program to be told of the completed fail-over");
        var lines = File.ReadAllLines(execOut);
        Assert.Contains("event 612 job1", lines);
        Assert.Contains("reminder 612 job1", lines);
        Assert.Contains(lines, l => l.StartsWith('{') && JsonNode.Parse(l)!["event"]!["codeName"]!.GetValue<string>() == "FailoverCompleted");

        // Deliveries are events themselves.
        var events = await pair.Target.EventsAsync("job1");
        Assert.Contains(events, e => e.Code() == EventCode.NotifyDelivered && e.Data()!["destination"]!.GetValue<string>() == "hook"
            && e.Data()!["eventCode"]!.GetValue<int>() == 612);
        Assert.Contains(events, e => e.Code() == EventCode.NotifyDelivered && e.Data()!["destination"]!.GetValue<string>() == "program");
    }

    [Fact]
    public async Task Delivery_IsRetriedWithBackoff_Signed_AndAFailureIsAnEvent_NotifyTestReportsEach()
    {
        await using var hook = new WebhookReceiver(Secret, failFirst: 2);
        using var dir = new TempDir();
        await using var agent = new AgentProcess(dir.Sub("agent"), "solo");
        Directory.CreateDirectory(agent.DataDir);
        int deadPort = Ports.Free();
        File.WriteAllText(Path.Combine(agent.DataDir, "notify.yaml"), $"""
            destinations:
              - name: hook
                webhook: {"{"} url: "{hook.Url}", secret: {Secret} {"}"}
                retries: 3
                backoff: 100ms
              - name: dead
                webhook: {"{"} url: "http://127.0.0.1:{deadPort}/", secret: x {"}"}
                retries: 1
                backoff: 100ms
            """);
        await agent.StartAsync();

        // No rules: errors and security events go to every destination. Trusting a peer is a security event.
        var peer = new string('a', 64);
        (await agent.CliAsync("trust", "add", peer, "--name", "p")).EnsureOk();
        await Wait.UntilAsync(() => hook.Of("event", "PeerTrusted").Any(), TimeSpan.FromSeconds(30), "the security event at the webhook");
        Assert.Equal(3, hook.Attempts.Count); // two 503s, then delivered
        Assert.Single(hook.Attempts.Distinct()); // one delivery id across its retries
        Assert.Equal(3, hook.Of("event", "PeerTrusted").Single()["attempt"]!.GetValue<int>());
        await Wait.UntilAsync(async () => (await agent.EventsAsync()).Any(e => e.Code() == EventCode.NotifyFailed), TimeSpan.FromSeconds(30), "the dead destination's failure");
        var events = await agent.EventsAsync();
        var failed = events.Single(e => e.Code() == EventCode.NotifyFailed);
        Assert.Equal(("dead", 2), (failed.Data()!["destination"]!.GetValue<string>(), failed.Data()!["attempts"]!.GetValue<int>()));
        var delivered = events.Single(e => e.Code() == EventCode.NotifyDelivered);
        Assert.Equal(("hook", 3), (delivered.Data()!["destination"]!.GetValue<string>(), delivered.Data()!["attempts"]!.GetValue<int>()));

        var test = await agent.CliAsync("notify", "test");
        Assert.Equal(1, test.ExitCode); // one destination failed
        Assert.Contains("hook: delivered", test.Stdout, StringComparison.Ordinal);
        Assert.Contains("dead: FAILED", test.Stdout, StringComparison.Ordinal);
        Assert.Single(hook.Of("test", "NotifyTest"));
        (await agent.CliAsync("notify", "test", "--destination", "hook")).EnsureOk();
        Assert.Equal(2, hook.Of("test", "NotifyTest").Count());
        Assert.Empty(hook.Refused);

        var show = (await agent.CliAsync("notify", "show")).EnsureOk().Stdout;
        Assert.Contains($"destination hook: webhook {hook.Url} (signed), 3 retries; delivered 3, failed 0", show, StringComparison.Ordinal);
        Assert.Contains("rule 1: severity error,security -> hook, dead", show, StringComparison.Ordinal);

        // A broken file is refused with where and why; the rules in force stay.
        File.WriteAllText(Path.Combine(agent.DataDir, "notify.yaml"), "destinations: [ { name: x, webhok: {} } ]\n");
        var reload = await agent.CliAsync("notify", "reload");
        Assert.NotEqual(0, reload.ExitCode);
        Assert.Contains("did you mean 'webhook'", reload.Stderr, StringComparison.Ordinal);
        Assert.Contains("destination hook:", (await agent.CliAsync("notify", "show")).EnsureOk().Stdout, StringComparison.Ordinal);
    }
}
