using System.Text.Json;
using Understudy.Core.Jobs;
using Xunit;

namespace Understudy.Core.Tests.Jobs;

public class JobFileRoundTripTests
{
    [Theory]
    [InlineData(JobSamples.Full)]
    [InlineData(JobSamples.Minimal)]
    public void ToYaml_ParsesBackToEqualSpec(string yaml)
    {
        var spec = JobFile.Parse(yaml, "in.yaml");

        var text = JobFile.ToYaml(spec);
        var again = JobFile.Parse(text, "out.yaml");

        Assert.Equal(spec, again);
        Assert.Equal(text, JobFile.ToYaml(again));
    }

    [Fact]
    public void ToYaml_QuotesTextThatYamlWouldReadOtherwise()
    {
        var spec = JobFile.Parse(JobSamples.Full, "in.yaml");
        var f = spec.Failover!;
        spec = spec with
        {
            Source = spec.Source with { Exclude = ValueList.Of("*.tmp", "#not-a-comment", "a: b", "yes", "123", "[x]", "it's \"quoted\"", "\\*literal-star", "ünïcode/**") },
            Failover = f with
            {
                Identity = f.Identity with
                {
                    ServerName = "oldfs",
                    Shares = ValueList.Of(new ShareSpec
                    {
                        Name = "Finance Team",
                        Path = "/srv/shares/finance/with space",
                        Options = ValueList.Of(new ShareOption("valid users", "@finance, bob"), new ShareOption("comment", "true")),
                    }),
                },
            },
        };
        spec.Validate();

        var again = JobFile.Parse(JobFile.ToYaml(spec), "out.yaml");

        Assert.Equal(spec, again);
    }

    [Fact]
    public void ToYaml_WritesServerNameTrue_WhenItIsTheSourceName()
    {
        var text = JobFile.ToYaml(JobFile.Parse(JobSamples.Full, "in.yaml"));
        Assert.Contains("server_name: true", text, StringComparison.Ordinal);
        Assert.Contains("source_name: fileserver1", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_RoundTripsWithTheFileWords()
    {
        var spec = JobFile.Parse(JobSamples.Full, "in.yaml");

        var json = JobSpecJson.Serialize(spec);
        var again = JobSpecJson.Deserialize(json);

        Assert.Equal(spec, again);
        Assert.Contains("\"queue_limit\":2147483648", json, StringComparison.Ordinal);
        Assert.Contains("\"conflicts\":\"manual\"", json, StringComparison.Ordinal);
        Assert.Contains("\"address\":\"backup1.example:7421\"", json, StringComparison.Ordinal);
        Assert.Contains("\"interval\":\"2s\"", json, StringComparison.Ordinal);
        Assert.Contains("\"abort_on_pre_failure\":false", json, StringComparison.Ordinal);
        Assert.DoesNotContain("detection_time", json, StringComparison.Ordinal);
    }

    [Fact]
    public void RestoreReplaced_DefaultKeep_DiscardParsedAndWritten()
    {
        var byDefault = JobFile.Parse(JobSamples.Minimal, "in.yaml");
        Assert.Equal(ReplacedPolicy.Keep, byDefault.Restore.Replaced);
        Assert.Contains("  replaced: keep\n", JobFile.ToYaml(byDefault), StringComparison.Ordinal);

        var discard = JobFile.Parse(JobSamples.Minimal + "restore:\n  replaced: discard\n", "in.yaml");
        Assert.Equal(ReplacedPolicy.Discard, discard.Restore.Replaced);
        var text = JobFile.ToYaml(discard);
        Assert.Contains("  replaced: discard\n", text, StringComparison.Ordinal);
        Assert.Equal(discard, JobFile.Parse(text, "out.yaml"));
        Assert.Contains("\"replaced\":\"discard\"", JobSpecJson.Serialize(discard), StringComparison.Ordinal);
    }

    [Fact]
    public void Json_EnumWithDash_UsesFileSpelling()
    {
        var json = JobSpecJson.Serialize(JobFile.Parse(JobSamples.Minimal, "in.yaml"));
        Assert.Contains("\"conflicts\":\"keep-target\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\"failover\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_MinimalDocument_GetsDefaultsAndValidates()
    {
        var json = $$$"""
            {"name":"api-job","source":{"paths":["/srv/www"]},"target":{"address":"b1","id":"{{{JobSamples.Id}}}","path":"/r"}}
            """;

        var spec = JobSpecJson.Deserialize(json);
        spec.Validate();

        Assert.Equal(new HostPort("b1", 7420), spec.Target.Address);
        Assert.Equal(MirrorMode.Different, spec.Mirror.Mode);
        Assert.Equal(TimeSpan.FromMilliseconds(20), spec.Replication.Coalesce);
        Assert.True(spec.Replication.Enabled);
        Assert.Equal(1L << 30, spec.Replication.QueueLimit);
        Assert.Empty(spec.Source.Exclude);
        Assert.Null(spec.Failover);
        Assert.Equal(JobFile.Parse(JobSamples.Minimal, "m.yaml") with { Name = "api-job", Target = spec.Target }, spec);
    }

    [Fact]
    public void Json_InvalidSpec_FailsValidateWithKeyPath()
    {
        var json = $$$"""
            {"name":"api-job","source":{"paths":["/srv/www","/srv/www/x"]},"target":{"address":"b1","id":"{{{JobSamples.Id}}}","path":"/r"}}
            """;

        var e = Assert.Throws<JobFileException>(JobSpecJson.Deserialize(json).Validate);
        Assert.Equal("source.paths[1]", e.KeyPath);
        Assert.StartsWith("key 'source.paths[1]': '/srv/www/x' overlaps", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_UnknownMember_IsRejected()
    {
        Assert.ThrowsAny<JsonException>(() => JobSpecJson.Deserialize("""{"name":"x","sauce":{}}"""));
    }
}
