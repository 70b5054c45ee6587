using System.Text.Json.Nodes;
using Understudy.Agent.Events;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Security;

/// <summary>
/// Issue 19, item 5: `trust remove` on the target takes effect at once — the source's live session
/// ends (nothing more is applied), its fail-over plan is disarmed and its registration forgotten, and
/// neither comes back when the target restarts. The replica stays.
/// </summary>
public sealed class TrustRevocationTests
{
    private static async Task<JsonNode> StatusAsync(AgentProcess agent) =>
        JsonNode.Parse((await agent.CliAsync("status", "--json")).EnsureOk().Stdout)!;

    private static bool Lists(JsonNode status, string section, string job) =>
        status[section]?.AsArray().Any(j => j!["name"]!.GetValue<string>() == job) ?? false;

    [Fact]
    public async Task TrustRemove_EndsLiveSession_DisarmsPlanAndRegistration_AcrossRestart()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        File.WriteAllText(Path.Combine(pair.SourceData, "a.txt"), "before");
        await pair.ApplyAsync(pair.JobYaml(extra: pair.FailoverYaml()));
        await pair.WaitMirroredAsync();
        var before = await StatusAsync(pair.Target);
        Assert.True(Lists(before, "failover", "job1"), before.ToJsonString());
        Assert.True(Lists(before, "hosted", "job1"), before.ToJsonString());

        var removed = (await pair.Target.CliAsync("trust", "remove", pair.Source.Id)).EnsureOk();
        Assert.Contains("fail-over plan disarmed", removed.Stdout, StringComparison.Ordinal);
        Assert.Contains("registration removed", removed.Stdout, StringComparison.Ordinal);

        // A change made after the revocation is never applied: the source's next connection is refused in the handshake.
        File.WriteAllText(Path.Combine(pair.SourceData, "b.txt"), "after");
        await Wait.UntilAsync(async () => (await pair.Target.EventsAsync(limit: 200)).Any(e => e.Code() == EventCode.PeerUntrusted && e.Message().Contains(pair.Source.Id, StringComparison.Ordinal)),
            TimeSpan.FromSeconds(60), "the source's reconnection refused (its old session still open?)");
        Assert.False(File.Exists(Path.Combine(pair.TargetData, "b.txt")), "a change was applied after trust remove");
        Assert.Equal("before", File.ReadAllText(Path.Combine(pair.TargetData, "a.txt")));

        var after = await StatusAsync(pair.Target);
        Assert.False(Lists(after, "failover", "job1"), after.ToJsonString());
        Assert.False(Lists(after, "hosted", "job1"), after.ToJsonString());
        await pair.Target.StopAsync();
        await pair.Target.StartAsync();
        var restarted = await StatusAsync(pair.Target);
        Assert.False(Lists(restarted, "failover", "job1"), restarted.ToJsonString());
        Assert.False(Lists(restarted, "hosted", "job1"), restarted.ToJsonString());
        Assert.False(File.Exists(Path.Combine(pair.TargetData, "b.txt")), "a change was applied after trust remove");
    }
}
