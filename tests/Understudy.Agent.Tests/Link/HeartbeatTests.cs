using System.Text.Json.Nodes;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Link;

/// <summary>
/// A silent link (issue 20, item 5): the peer's process is frozen with SIGSTOP, so its kernel still holds the TCP
/// connection open and acknowledges what arrives (TCP itself would never notice, and keepalive only after hours).
/// Each side must find the link dead through the heartbeat and take its normal way back once the peer runs again.
/// </summary>
public sealed class HeartbeatTests
{
    private const int SigStop = 19;
    private const int SigCont = 18;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task SilentLink_PeerFrozen_EachSideDropsTheLink_AndReconnectsWhenItRunsAgain()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        await pair.ApplyAsync(pair.JobYaml());
        await pair.WaitMirroredAsync();
        await Wait.UntilAsync(async () => await TargetConnectedAsync(pair) == true, Deadline, "the target to show the source connected");

        // The target freezes: the (idle) source must find its link silent.
        _ = Native.Kill(pair.Target.Pid, SigStop);
        try
        {
            await Wait.UntilAsync(async () => (await pair.Source.StatusAsync("job1"))["state"]!.GetValue<string>() == "disconnected",
                Deadline, "the source to find its link to the frozen target silent (state disconnected)");
        }
        finally
        {
            _ = Native.Kill(pair.Target.Pid, SigCont);
        }
        await ArrivesAsync(pair, "after-target-froze.txt");

        // The source freezes: the target must find the session silent.
        await Wait.UntilAsync(async () => await TargetConnectedAsync(pair) == true, Deadline, "the source to be connected again");
        _ = Native.Kill(pair.Source.Pid, SigStop);
        try
        {
            await Wait.UntilAsync(async () => await TargetConnectedAsync(pair) == false, Deadline,
                "the target to find its link from the frozen source silent (hosted job not connected)");
        }
        finally
        {
            _ = Native.Kill(pair.Source.Pid, SigCont);
        }
        await ArrivesAsync(pair, "after-source-froze.txt");
    }

    private static async Task<bool?> TargetConnectedAsync(AgentPair pair)
    {
        var status = JsonNode.Parse((await pair.Target.CliAsync("status", "--json")).Stdout);
        return (status?["hosted"] as JsonArray)?.FirstOrDefault()?["connected"]?.GetValue<bool>();
    }

    private static async Task ArrivesAsync(AgentPair pair, string name)
    {
        await File.WriteAllTextAsync(Path.Combine(pair.SourceData, name), name);
        var there = Path.Combine(pair.TargetData, name);
        await Wait.UntilAsync(() => File.Exists(there) && File.ReadAllText(there) == name, Deadline, $"{name} to reach the target");
    }
}
