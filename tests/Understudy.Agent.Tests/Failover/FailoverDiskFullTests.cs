using System.Diagnostics;
using System.Text.Json.Nodes;
using Understudy.Agent.Events;
using Understudy.Agent.Tests.Mirror;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Failover;

/// <summary>
/// Root-only (a real tmpfs with a size, mounted as the target agent's data directory, then filled): the event log
/// cannot be written, and the fail-over monitor must go on as if it could — events held in memory and in the system
/// log, written to the event log once space returns.
/// </summary>
public sealed class FailoverDiskFullTests
{
    [MountFact]
    public async Task Failover_TargetDataDirFull_MonitorKeepsWatching_ManualFailoverWorks_EventsWrittenWhenSpaceReturns()
    {
        await using var pair = new AgentPair();
        var mount = pair.Target.DataDir;
        Directory.CreateDirectory(mount);
        await Tmpfs.RunAsync("mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "understudy-test", mount);
        try
        {
            await pair.StartAsync();
            File.WriteAllText(Path.Combine(pair.SourceData, "a.txt"), "hello");
            await pair.ApplyAsync(pair.JobYaml(extra: pair.FailoverYaml()));
            await pair.WaitMirroredAsync();
            await Wait.UntilAsync(async () => (await pair.Target.FailoverAsync("job1"))?["addresses"]?[0]?["state"]?.GetValue<string>() == "up",
                TimeSpan.FromSeconds(30), "the target to see the source's peer port answer");
            await pair.Target.ApproveFailoverAsync("job1");

            var filler = Path.Combine(mount, "filler");
            Tmpfs.Fill(filler);
            // The event log is full for real: a write of a page more than the WAL holds fails (checked through the agent below).
            pair.Source.Kill();

            // The monitor goes on: it sees the source go and raises the pending fail-over, which status shows.
            await WithLogAsync(pair.Target, Wait.UntilAsync(async () => await pair.Target.FailoverStateAsync("job1") == "fail-over-pending",
                TimeSpan.FromSeconds(30), "fail-over pending although the event log cannot be written"));
            // Every event also goes to the system log (the agent's stderr here), whether or not it could be stored.
            await Wait.UntilAsync(() => pair.Target.Log.Contains($"{(int)EventCode.FailoverPending}]", StringComparison.Ordinal), TimeSpan.FromSeconds(30),
                "the pending fail-over in the agent's log");

            var run = await pair.Target.CliAsync("failover", "job1");
            Assert.True(run.ExitCode == 0, $"failover on a full data dir: {run.Stdout}{run.Stderr}\n{pair.Target.Log}");
            Assert.Equal("failed-over", await pair.Target.FailoverStateAsync("job1"));
            Assert.Equal("hello", File.ReadAllText(Path.Combine(pair.TargetData, "a.txt")));

            // Space returns: the events held in memory reach the event log, in order, with a note of the outage.
            File.Delete(filler);
            List<JsonNode> events = [];
            await Wait.UntilAsync(async () =>
            {
                events = await pair.Target.EventsAsync();
                return events.Codes().Contains(EventCode.FailoverCompleted);
            }, TimeSpan.FromSeconds(60), "the held events to be written once space returned");
            var codes = events.Codes().ToList();
            Assert.True(codes.IndexOf(EventCode.FailoverPending) < codes.IndexOf(EventCode.FailoverTriggered), events.Describe());
            Assert.Contains(EventCode.MonitorAddressMissing, codes);
            var outage = Assert.Single(events, e => e.Code() == EventCode.EventLogUnwritable);
            Assert.Contains("full", outage.Message(), StringComparison.OrdinalIgnoreCase);
            Assert.Equal(0, outage.Data()!["dropped"]!.GetValue<long>());
        }
        finally
        {
            pair.Target.Kill();
            await Tmpfs.RunAsync("umount", "-l", mount);
        }
    }

    private static async Task WithLogAsync(AgentProcess agent, Task wait)
    {
        try
        {
            await wait;
        }
        catch (TimeoutException e)
        {
            var status = await agent.CliAsync("status", "--json");
            throw new TimeoutException($"{e.Message}; status: {status.Stdout}; agent log:\n{agent.Log}", e);
        }
    }

    /// <summary>Writes zeros until the file system refuses another byte.</summary>

}
