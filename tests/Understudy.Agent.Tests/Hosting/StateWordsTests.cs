using System.Text.Json;
using System.Text.Json.Serialization;
using Understudy.Agent.Failover;
using Understudy.Core.Api;
using Xunit;

namespace Understudy.Agent.Tests.Hosting;

/// <summary>One vocabulary of states: job and fail-over states are enums whose JSON is the word status has always shown.</summary>
public sealed class StateWordsTests
{
    private static readonly JsonSerializerOptions Api = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    [Fact]
    public void JobStates_SerializeToTheirWords()
    {
        Assert.Equal(
            ["connecting", "mirroring", "verifying", "in-sync", "replicating", "paused", "stopped", "re-mirror-required", "disconnected", "error", "failed-over (passive)"],
            Enum.GetValues<JobState>().Select(s => JsonSerializer.Deserialize<string>(JsonSerializer.Serialize(s, Api))));
        foreach (var s in Enum.GetValues<JobState>())
        {
            Assert.Equal(JsonSerializer.Serialize(s.Name(), Api), JsonSerializer.Serialize(s, Api));
            Assert.Equal(s, JsonSerializer.Deserialize<JobState>(JsonSerializer.Serialize(s.Name(), Api), Api));
        }
    }

    [Fact]
    public void JobStates_TheGeneratedApiJson_WritesAndReadsTheSameWords()
    {
        foreach (var s in Enum.GetValues<JobState>())
        {
            Assert.Equal(JsonSerializer.Serialize(s, Api), JsonSerializer.Serialize(s, ApiJson.Default.JobState));
            Assert.Equal(s, JsonSerializer.Deserialize(JsonSerializer.Serialize(s.Name(), Api), ApiJson.Default.JobState));
        }
    }

    [Fact]
    public void FailoverStates_SerializeToTheWordsTheyAreStoredAndShownAs()
    {
        foreach (var s in Enum.GetValues<FailoverState>())
        {
            Assert.Equal(JsonSerializer.Serialize(s.Name(), Api), JsonSerializer.Serialize(s, Api));
            Assert.Equal(s, FailoverStates.Parse(s.Name()));
        }
    }
}
