using Understudy.Agent.Events;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Mirror;

/// <summary>`job apply` of a job that already runs.</summary>
public sealed class JobApplyTests
{
    /// <summary>Re-applying the same file (a deployment script that applies every time) restarts the job as `start`
    /// does; what the job had — its last verification, last mirror, mirrored and paused state — stays (issue 16, item 10).</summary>
    [Fact]
    public async Task JobApply_Unchanged_KeepsLastVerifyAndState()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        File.WriteAllText(Path.Combine(pair.SourceData, "a.txt"), "one");
        var yaml = pair.JobYaml();
        await pair.ApplyAsync(yaml);
        await pair.WaitMirroredAsync();
        (await pair.Source.CliAsync("verify", "job1")).EnsureOk();
        (await pair.Source.CliAsync("pause", "job1")).EnsureOk();
        var before = await pair.Source.StatusAsync("job1");
        Assert.NotNull(before["lastVerify"]);

        await pair.ApplyAsync(yaml);

        var after = await pair.Source.StatusAsync("job1");
        Assert.Equal(before["lastVerify"]!.ToJsonString(), after["lastVerify"]?.ToJsonString());
        Assert.True(after["mirrored"]!.GetValue<bool>());
        Assert.True(after["replication"]!["paused"]!.GetValue<bool>());
        Assert.Contains(EventCode.JobReappliedUnchanged, (await pair.Source.EventsAsync("job1")).Codes());
    }
}
