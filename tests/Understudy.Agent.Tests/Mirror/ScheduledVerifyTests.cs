using System.Text.Json.Nodes;
using Understudy.Agent.Events;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Mirror;

/// <summary><c>verify.schedule</c> runs a verify by itself: its result in status (lastVerify, scheduled) and in the event log.</summary>
public sealed class ScheduledVerifyTests
{
    [Fact]
    public async Task VerifySchedule_RunsByItself_ResultInStatusAndEvents_NeverDuringAMirror()
    {
        await using var pair = new AgentPair();
        // The job file's minimum is 1m; the agent's test knob makes the period 1.5 s.
        pair.Source.Environment["UNDERSTUDY_VERIFY_SCHEDULE_MS"] = "1500";
        await pair.StartAsync();
        for (int i = 0; i < 20; i++)
            await File.WriteAllTextAsync(Path.Combine(pair.SourceData, $"f{i}.txt"), $"file {i}");
        await pair.ApplyAsync(pair.JobYaml(extra: "verify:\n  schedule: 1m"));
        await pair.WaitMirroredAsync();

        JsonNode? last = null;
        await Wait.UntilAsync(async () => (last = (await pair.Source.StatusAsync("job1"))["lastVerify"]) is JsonObject,
            TimeSpan.FromSeconds(60), "a scheduled verify to report");
        Assert.True(last!["scheduled"]!.GetValue<bool>());
        Assert.True(last["identical"]!.GetValue<bool>(), last.ToJsonString());
        Assert.False(last["checksum"]!.GetValue<bool>());

        // A difference planted on the target is found by a later scheduled verify, named by kind.
        File.SetUnixFileMode(Path.Combine(pair.TargetData, "f3.txt"), UnixFileMode.UserRead);
        var firstAt = last["at"]!.GetValue<DateTimeOffset>();
        await Wait.UntilAsync(async () =>
        {
            last = (await pair.Source.StatusAsync("job1"))["lastVerify"];
            return last!["at"]!.GetValue<DateTimeOffset>() > firstAt && !last["identical"]!.GetValue<bool>();
        }, TimeSpan.FromSeconds(60), "a scheduled verify to find the planted difference");
        var diff = Assert.Single(last!["differences"]!.AsArray());
        Assert.Equal(("mode", "f3.txt"), (diff!["kind"]!.GetValue<string>(), diff["path"]!.GetValue<string>()));

        // A mirror meanwhile: no verify runs between its start and its end (one command at a time).
        (await pair.Source.CliAsync("mirror", "job1", "--mode", "full", "--wait")).EnsureOk();
        var log = await pair.Source.EventsAsync("job1");
        Assert.Contains(log, e => e.Code() == EventCode.VerifyIdentical && e.Data()?["scheduled"]?.GetValue<bool>() == true);
        // The count and kind of the differences are the point: the message sums them up.
        Assert.Contains(log, e => e.Code() == EventCode.VerifyDifferences && e.Message().StartsWith("scheduled verify found 1 differences (1 mode)", StringComparison.Ordinal));
        int start = log.FindLastIndex(e => e.Code() == EventCode.MirrorStarted && e.Message().StartsWith("full mirror", StringComparison.Ordinal));
        int end = log.FindIndex(start, e => e.Code() == EventCode.MirrorCompleted);
        Assert.True(start >= 0 && end > start, log.Describe());
        Assert.DoesNotContain(log.Skip(start).Take(end - start), e => e.Code() is EventCode.VerifyIdentical or EventCode.VerifyDifferences or EventCode.VerifyScheduledFailed);
    }
}
