using System.Text.Json.Nodes;
using Understudy.Agent.Events;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Failover;

/// <summary>Real agent processes on loopback: the job's fail-over settings reach the target, the target
/// monitors the source's peer port, fails over on command, and the restarted source stays passive.</summary>
public sealed class FailoverAgentTests
{
    [Fact]
    public async Task Failover_SourceAgentGone_ManualPending_FailsOverOnCommand_RestartedSourceStaysPassive()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        File.WriteAllText(Path.Combine(pair.SourceData, "a.txt"), "hello");
        var envFile = pair.Dir.Sub("post-env.txt");
        var script = pair.Target.WriteScript("post.sh", $"echo \"$UNDERSTUDY_JOB $UNDERSTUDY_PHASE\" > {envFile}");
        await pair.ApplyAsync(pair.JobYaml(extra: pair.FailoverYaml($$"""
              scripts:
                post_failover: [ { run: {{script}} } ]
            """)));
        await pair.WaitMirroredAsync();

        await Wait.UntilAsync(async () => (await pair.Target.FailoverAsync("job1"))?["addresses"]?[0]?["state"]?.GetValue<string>() == "up",
            TimeSpan.FromSeconds(30), "the target to see the source's peer port answer");
        Assert.Equal("protecting", await pair.Target.FailoverStateAsync("job1"));
        var text = await pair.Target.CliAsync("status");
        Assert.Contains("fail-over protecting", text.Stdout, StringComparison.Ordinal);

        pair.Source.Kill();
        await Wait.UntilAsync(async () => await pair.Target.FailoverStateAsync("job1") == "fail-over-pending", TimeSpan.FromSeconds(30), "fail-over pending");

        await pair.Target.ApproveFailoverAsync("job1");
        var dry = await pair.Target.CliAsync("failover", "job1", "--dry-run");
        Assert.Equal(0, dry.ExitCode);
        Assert.Contains("stop replication", dry.Stdout, StringComparison.Ordinal);
        Assert.Equal("fail-over-pending", await pair.Target.FailoverStateAsync("job1"));

        var run = await pair.Target.CliAsync("failover", "job1");
        Assert.True(run.ExitCode == 0, run.Stdout + run.Stderr);
        Assert.Equal("failed-over", await pair.Target.FailoverStateAsync("job1"));
        Assert.Equal("job1 post-failover", File.ReadAllText(envFile).Trim());
        Assert.Equal("hello", File.ReadAllText(Path.Combine(pair.TargetData, "a.txt")));

        await pair.Source.StartAsync();
        (await pair.Source.CliAsync("mirror", "job1")).EnsureOk();
        await Wait.UntilAsync(async () => (await pair.Source.StatusAsync("job1"))["state"]?.GetValue<string>() == "failed-over (passive)",
            TimeSpan.FromSeconds(30), "the restarted source to turn passive");
        Assert.Contains(EventCode.SourcePassive, (await pair.Source.EventsAsync("job1")).Codes());
        var targetEvents = (await pair.Target.EventsAsync("job1")).Codes().ToList();
        Assert.Contains(EventCode.FailoverPending, targetEvents);
        Assert.Contains(EventCode.FailoverCompleted, targetEvents);
    }

    [Fact]
    public async Task Failover_SourceKilledWithUnacknowledgedChanges_EventSaysWhatWasInFlight()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        File.WriteAllText(Path.Combine(pair.SourceData, "a.txt"), "hello");
        await pair.ApplyAsync(pair.JobYaml(extra: pair.FailoverYaml()));
        await pair.WaitMirroredAsync();
        await Wait.UntilAsync(async () => (await pair.Target.FailoverAsync("job1"))?["sourceQueue"]?["ops"]?.GetValue<long>() == 0,
            TimeSpan.FromSeconds(30), "the source to report an empty queue");

        // Changes queued on the source and never delivered: replication is paused, the session stays open.
        (await pair.Source.CliAsync("pause", "job1")).EnsureOk();
        for (int i = 0; i < 3; i++)
            File.WriteAllText(Path.Combine(pair.SourceData, $"lost-{i}.txt"), new string('x', 1000 * (i + 1)));
        long ops = 0, bytes = 0;
        await Wait.UntilAsync(async () =>
        {
            var r = (await pair.Source.StatusAsync("job1"))["replication"]!;
            ops = r["opsPending"]!.GetValue<long>();
            bytes = r["bytesPending"]!.GetValue<long>();
            var q = (await pair.Target.FailoverAsync("job1"))?["sourceQueue"];
            return ops >= 3 && q?["ops"]?.GetValue<long>() == ops && q["bytes"]?.GetValue<long>() == bytes;
        }, TimeSpan.FromSeconds(30), "the target to hold the source's report of its queued changes");
        Assert.Contains($"source's queue: {ops} changes not acknowledged ({bytes} bytes)", (await pair.Target.CliAsync("status")).Stdout, StringComparison.Ordinal);

        pair.Source.Kill();
        await Wait.UntilAsync(async () => await pair.Target.FailoverStateAsync("job1") == "fail-over-pending", TimeSpan.FromSeconds(30), "fail-over pending");
        await pair.Target.ApproveFailoverAsync("job1");
        (await pair.Target.CliAsync("failover", "job1")).EnsureOk();

        var events = await pair.Target.EventsAsync("job1");
        var stopped = Assert.Single(events, e => e.Code() == EventCode.ReplicationStopped);
        // The figures are the point: an operator reads what was lost in the message.
        var message = stopped.Message();
        Assert.Contains($"in flight and lost with the source: {ops} changes not acknowledged ({bytes} bytes of queue records)", message, StringComparison.Ordinal);
        var data = JsonNode.Parse(stopped["data"]!.GetValue<string>())!;
        Assert.Equal(ops, data["inFlightOps"]!.GetValue<long>());
        Assert.Equal(bytes, data["inFlightBytes"]!.GetValue<long>());
        Assert.True(data["inFlightAgeSeconds"]!.GetValue<double>() >= 0, message);
        Assert.False(data["inFlightUncounted"]!.GetValue<bool>());
        Assert.False(File.Exists(Path.Combine(pair.TargetData, "lost-0.txt")));
    }

    [Fact]
    public async Task PlannedFailover_SourceStillConnected_SessionEnds_SourceTurnsPassive()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        File.WriteAllText(Path.Combine(pair.SourceData, "b.txt"), "planned");
        await pair.ApplyAsync(pair.JobYaml(extra: $$"""
            failover:
              monitor:
                addresses: [ { address: 127.0.0.1, method: tcp, port: {{pair.Source.PeerPort}} } ]
            """));
        await pair.WaitMirroredAsync();
        await Wait.UntilAsync(async () => await pair.Target.FailoverStateAsync("job1") == "protecting", TimeSpan.FromSeconds(30), "monitoring");

        await pair.Target.ApproveFailoverAsync("job1");
        var run = await pair.Target.CliAsync("failover", "job1", "--json");
        Assert.True(run.ExitCode == 0, run.Stdout + run.Stderr);
        Assert.Equal("failed-over", await pair.Target.FailoverStateAsync("job1"));
        var again = await pair.Target.CliAsync("failover", "job1");
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("already holds", again.Stderr, StringComparison.Ordinal);

        (await pair.Source.CliAsync("mirror", "job1")).EnsureOk();
        await Wait.UntilAsync(async () => (await pair.Source.StatusAsync("job1"))["state"]?.GetValue<string>() == "failed-over (passive)",
            TimeSpan.FromSeconds(30), "the source to turn passive");
        Assert.Equal("planned", File.ReadAllText(Path.Combine(pair.TargetData, "b.txt")));
    }
}
