using Understudy.Core.Jobs;
using Xunit;

namespace Understudy.Core.Tests.Jobs;

public class JobFileErrorTests
{
    private static JobFileException ParseError(string yaml) =>
        Assert.Throws<JobFileException>(() => JobFile.Parse(yaml, "job.yaml"));

    private static string WithFailover(string failover) =>
        JobSamples.Minimal + "failover:\n" + failover;

    [Fact]
    public void BadDuration_NamesFileLineColumnAndKey()
    {
        var e = ParseError(WithFailover("  monitor:\n    addresses: [192.0.2.10]\n    interval: fast\n"));

        Assert.Equal("job.yaml", e.FileName);
        Assert.Equal(11, e.Line);
        Assert.Equal(15, e.Column);
        Assert.Equal("failover.monitor.interval", e.KeyPath);
        Assert.Equal("job.yaml:11:15: key 'failover.monitor.interval': expected a duration like 1s or 500ms, got 'fast'", e.Message);
    }

    [Fact]
    public void UnknownKey_SuggestsClosestKnownKey()
    {
        var e = ParseError(JobSamples.Minimal.Replace("  paths: [/srv/www]", "  paths: [/srv/www]\n  exlcude: [\"*.tmp\"]", StringComparison.Ordinal));

        Assert.Equal("source.exlcude", e.KeyPath);
        Assert.Equal(4, e.Line);
        Assert.Contains("unknown key 'exlcude' in 'source'; did you mean 'exclude'?", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownKey_FarFromAnything_ListsKnownKeys()
    {
        var e = ParseError(JobSamples.Minimal + "\nzzzzzzzz: 1\n");
        Assert.Contains("known keys: name, source, target", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingRequiredKey_SaysWhatIsNeeded()
    {
        var e = ParseError(JobSamples.Minimal.Replace("  path: /srv/replica/web\n", "", StringComparison.Ordinal));
        Assert.Equal("target.path", e.KeyPath);
        Assert.Contains("required", e.Message, StringComparison.Ordinal);
        Assert.Equal(5, e.Line);

        var noName = ParseError(JobSamples.Minimal.Replace("name: small\n", "", StringComparison.Ordinal));
        Assert.Equal("name", noName.KeyPath);
    }

    [Fact]
    public void RestoreReplaced_BadValue_NamesLineAndAllowedValues()
    {
        var e = ParseError(JobSamples.Minimal + "restore:\n  replaced: delete\n");
        Assert.Equal("job.yaml:9:13: key 'restore.replaced': expected one of keep | discard, got 'delete'", e.Message);
    }

    [Fact]
    public void InvalidEnum_ListsAllowedValues()
    {
        var e = ParseError(JobSamples.Minimal + "mirror:\n  mode: quick\n");
        Assert.Equal("job.yaml:9:9: key 'mirror.mode': expected one of full | different | checksum, got 'quick'", e.Message);
    }

    [Fact]
    public void WrongType_SaysWhatWasExpected()
    {
        var e = ParseError(JobSamples.Minimal.Replace("paths: [/srv/www]", "paths: /srv/www", StringComparison.Ordinal));
        Assert.Equal("source.paths", e.KeyPath);
        Assert.Contains("expected a list", e.Message, StringComparison.Ordinal);

        var e2 = ParseError(JobSamples.Minimal + "replication:\n  enabled: maybe\n");
        Assert.Contains("key 'replication.enabled': expected true or false, got 'maybe'", e2.Message, StringComparison.Ordinal);

        var e3 = ParseError(JobSamples.Minimal + "replication:\n  queue_limit: lots\n");
        Assert.Contains("expected a size like 1GiB", e3.Message, StringComparison.Ordinal);

        var e4 = ParseError(JobSamples.Minimal + "mirror: [full]\n");
        Assert.Contains("key 'mirror': expected a section of keys", e4.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void YamlSyntaxError_HasItsLine()
    {
        var e = ParseError("name: web\nsource:\n  paths: [/srv/www\ntarget: {}\n");
        Assert.StartsWith("job.yaml:", e.Message, StringComparison.Ordinal);
        Assert.Contains("invalid YAML", e.Message, StringComparison.Ordinal);
        Assert.True(e.Line >= 3, e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n# only a comment\n")]
    public void EmptyFile_IsAClearError(string yaml)
    {
        var e = ParseError(yaml);
        Assert.Contains("the file is empty", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DuplicateKey_IsAnError()
    {
        var e = ParseError(JobSamples.Minimal + "name: other\n");
        Assert.Contains("duplicate key", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(8, e.Line);
    }

    [Fact]
    public void DuplicateKey_InFlowMapping_NamesTheKey()
    {
        var e = ParseError(JobSamples.Minimal + "mirror: {mode: full, mode: full}\n");
        Assert.Equal("job.yaml:8:22: key 'mode': duplicate key 'mode': each key may appear only once", e.Message);
    }

    [Fact]
    public void TabIndentation_PointsAtTheTab()
    {
        var e = ParseError(JobSamples.Minimal + "mirror:\n\tmode: full\n");
        Assert.Equal(9, e.Line);
        Assert.Contains("tab", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MisspelledEnumValue_SuggestsTheClosest()
    {
        var e = ParseError(WithFailover("  monitor: { addresses: [192.0.2.10] }\n  trigger: automatc\n"));
        Assert.EndsWith("expected one of manual | automatic, got 'automatc'; did you mean 'automatic'?", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SeveralDocuments_AreAnError()
    {
        var e = ParseError(JobSamples.Minimal + "---\n" + JobSamples.Minimal);
        Assert.Contains("several YAML documents", e.Message, StringComparison.Ordinal);
        Assert.Equal(9, e.Line);
    }

    [Fact]
    public void NotAMapping_IsAnError()
    {
        var e = ParseError("- just\n- a list\n");
        Assert.Contains("expected a job", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("name: Web Data", "name", "expected lowercase letters")]
    [InlineData("  paths: [srv/www]", "source.paths[0]", "expected an absolute path")]
    [InlineData("  paths: [/srv/www, /srv/www/html]", "source.paths[1]", "overlaps source.paths[0]")]
    [InlineData("  paths: [/a/data, /b/data]", "source.paths[1]", "same last component 'data'")]
    [InlineData("  paths: [/srv/../etc]", "source.paths[0]", "'..' is not allowed")]
    [InlineData("  id: abc", "target.id", "64 hex digits")]
    [InlineData("  address: \"backup1:99999\"", "target.address", "not a port")]
    [InlineData("  path: /", "target.path", "cannot be '/'")]
    public void InvalidValue_NamesKeyAndReason(string replacementLine, string keyPath, string reason)
    {
        var key = replacementLine.Trim().Split(':')[0];
        var lines = JobSamples.Minimal.Split('\n');
        int index = Array.FindIndex(lines, l => l.Trim().StartsWith(key + ":", StringComparison.Ordinal));
        lines[index] = replacementLine;
        var e = ParseError(string.Join('\n', lines));

        Assert.Equal(keyPath, e.KeyPath);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
        Assert.Equal(index + 1, e.Line);
    }

    [Theory]
    [InlineData("30s", "a verify schedule must be at least 1m, or 'none', got '30s'")]
    [InlineData("daily", "expected 'none' or a duration like 24h or 30m, got 'daily'")]
    [InlineData("-5m", "expected 'none' or a duration like 24h or 30m, got '-5m'")]
    public void VerifySchedule_TooShortOrNotADuration_NamesKeyAndReason(string schedule, string reason)
    {
        var e = ParseError(JobSamples.Minimal + $"verify:\n  schedule: {schedule}\n");
        Assert.Equal("verify.schedule", e.KeyPath);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2m", "expected a duration from 0 to 1m, got '2m'")]
    [InlineData("90s", "expected a duration from 0 to 1m, got '1m30s'")]
    public void MaxHold_OutOfRange_NamesKeyAndReason(string hold, string reason)
    {
        var e = ParseError(JobSamples.Minimal + $"replication:\n  max_hold: {hold}\n");
        Assert.Equal("replication.max_hold", e.KeyPath);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidationError_FromNestedList_IsPlacedOnItsLine()
    {
        var e = ParseError(WithFailover(
            "  monitor:\n    addresses:\n      - { address: 192.0.2.10, method: icmp, port: 80 }\n"));
        Assert.Equal("failover.monitor.addresses[0].port", e.KeyPath);
        Assert.Equal(11, e.Line);
        Assert.Contains("a port only applies to methods tcp, http, https, smb and nfs", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Share_OutsideSourcePaths_IsAnError()
    {
        var e = ParseError(WithFailover(
            "  monitor: { addresses: [192.0.2.10] }\n  identity:\n    shares:\n      - { name: x, path: /srv/other }\n"));
        Assert.Equal("failover.identity.shares[0].path", e.KeyPath);
        Assert.Contains("is not under any of source.paths", e.Message, StringComparison.Ordinal);
        Assert.Equal(12, e.Line);
    }

    [Fact]
    public void ServerNameTrue_WithoutSourceName_IsAnError()
    {
        var e = ParseError(WithFailover("  monitor: { addresses: [192.0.2.10] }\n  identity: { server_name: true }\n"));
        Assert.Equal("failover.identity.server_name", e.KeyPath);
        Assert.Contains("source_name", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Failover_WithoutMonitorAddresses_IsAnError()
    {
        var e = ParseError(WithFailover("  trigger: manual\n"));
        Assert.Equal("failover.monitor", e.KeyPath);

        var e2 = ParseError(WithFailover("  monitor: { interval: 1s }\n"));
        Assert.Equal("failover.monitor.addresses", e2.KeyPath);
        Assert.Equal(9, e2.Line);
    }

    [Fact]
    public void IdentityAddress_WithoutPrefix_IsAnError()
    {
        var e = ParseError(WithFailover("  monitor: { addresses: [192.0.2.10] }\n  identity:\n    addresses: [{ address: 192.0.2.10, interface: eth0 }]\n"));
        Assert.Equal("failover.identity.addresses[0].address", e.KeyPath);
        Assert.Contains("prefix", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadExcludePattern_IsAnError()
    {
        var e = ParseError(JobSamples.Minimal.Replace("  paths: [/srv/www]", "  paths: [/srv/www]\n  exclude: [\"[abc\"]", StringComparison.Ordinal));
        Assert.Equal("source.exclude[0]", e.KeyPath);
        Assert.Contains("without a closing ']'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_OnSpecFromCode_HasKeyPathButNoLine()
    {
        var spec = JobFile.Parse(JobSamples.Minimal, "x.yaml") with { Mirror = new MirrorSpec { Mode = (MirrorMode)42 } };
        var e = Assert.Throws<JobFileException>(spec.Validate);
        Assert.Null(e.FileName);
        Assert.Equal(0, e.Line);
        Assert.Equal("key 'mirror.mode': expected one of full | different | checksum, got '42'", e.Message);
    }

    /// <summary>Found by the jobfile fuzz harness's review: YamlDotNet builds its node tree recursively, so a value
    /// nested a hundred thousand lists deep overflowed the stack and killed the process (the agent parses YAML sent to
    /// its console API too).</summary>
    [Fact]
    public void DeeplyNestedValue_IsAnError_NotAStackOverflow()
    {
        var e = ParseError("name: " + new string('[', 100_000));

        Assert.Contains("nested", e.Reason, StringComparison.Ordinal);
        Assert.Equal(1, e.Line);
    }

    /// <summary>Found with the plan fuzz harness's review: a null item in a list of the job JSON a source sends its
    /// target (a monitor address, a script) came through as a null element, and validation threw NullReferenceException.</summary>
    [Theory]
    [InlineData("\"exclude\":[\"*.tmp\"", "\"exclude\":[null")]
    [InlineData("\"pre_failover\":[", "\"pre_failover\":[null,")]
    [InlineData("\"addresses\":[", "\"addresses\":[null,")]
    public void NullListItemInJobJson_IsAJsonError(string from, string to)
    {
        var json = JobSpecJson.Serialize(JobFile.Parse(JobSamples.Full, "job.yaml"));
        Assert.Contains(from, json, StringComparison.Ordinal);

        var e = Record.Exception(() => JobSpecJson.Deserialize(json.Replace(from, to, StringComparison.Ordinal)).Validate());

        Assert.IsType<System.Text.Json.JsonException>(e);
        Assert.Contains("null", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Found by afl-fuzz on the jobfile harness (bench/fuzz.sh): an empty key followed by a nested key
    /// made YamlDotNet 16.3's loader throw ArgumentException ("the current event is of an unsupported type").</summary>
    [Fact]
    public void EmptyKeyBeforeANestedKey_IsAnError_NotAnArgumentException()
    {
        var e = ParseError("source:\n  a: b\n  :\n  c:\n    d:\n");

        Assert.StartsWith("invalid YAML", e.Reason, StringComparison.Ordinal);
        Assert.True(e.Line > 0);
    }
}
