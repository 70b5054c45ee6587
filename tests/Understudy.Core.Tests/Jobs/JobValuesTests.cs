using Understudy.Core.Jobs;
using Xunit;

namespace Understudy.Core.Tests.Jobs;

public class JobValuesTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("1048576", 1048576L)]
    [InlineData("1GiB", 1L << 30)]
    [InlineData("10MiB", 10L << 20)]
    [InlineData("10 mib", 10L << 20)]
    [InlineData("4KiB", 4096L)]
    [InlineData("2TiB", 2L << 40)]
    [InlineData("5KB", 5000L)]
    [InlineData("5MB", 5_000_000L)]
    [InlineData("1GB", 1_000_000_000L)]
    [InlineData("7B", 7L)]
    public void TryParseSize_Units(string text, long expected)
    {
        Assert.True(JobValues.TryParseSize(text, out var bytes));
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData("")]
    [InlineData("lots")]
    [InlineData("1.5GiB")]
    [InlineData("-1")]
    [InlineData("1XB")]
    [InlineData("99999999999TiB")]
    public void TryParseSize_Rejects(string text) => Assert.False(JobValues.TryParseSize(text, out _));

    [Theory]
    [InlineData(0L, "0")]
    [InlineData(1L << 30, "1GiB")]
    [InlineData(1536L << 20, "1536MiB")]
    [InlineData(1000L, "1000")]
    public void FormatSize_IsExactAndParsesBack(long bytes, string expected)
    {
        Assert.Equal(expected, JobValues.FormatSize(bytes));
        Assert.True(JobValues.TryParseSize(expected, out var back));
        Assert.Equal(bytes, back);
    }

    [Theory]
    [InlineData("50ms", 50)]
    [InlineData("1s", 1000)]
    [InlineData("5m", 300_000)]
    [InlineData("24h", 86_400_000)]
    [InlineData("1m30s", 90_000)]
    [InlineData("1s500ms", 1500)]
    [InlineData("0", 0)]
    public void TryParseDuration_Units(string text, long ms)
    {
        Assert.True(JobValues.TryParseDuration(text, out var value));
        Assert.Equal(TimeSpan.FromMilliseconds(ms), value);
    }

    [Theory]
    [InlineData("fast")]
    [InlineData("10")]
    [InlineData("1.5s")]
    [InlineData("s")]
    [InlineData("")]
    [InlineData("1d")]
    public void TryParseDuration_Rejects(string text) => Assert.False(JobValues.TryParseDuration(text, out _));

    [Theory]
    [InlineData(90_000, "1m30s")]
    [InlineData(1500, "1s500ms")]
    [InlineData(86_400_000, "24h")]
    [InlineData(0, "0")]
    public void FormatDuration_Canonical(long ms, string expected) =>
        Assert.Equal(expected, JobValues.FormatDuration(TimeSpan.FromMilliseconds(ms)));

    [Theory]
    [InlineData("/srv//www/", "/srv/www")]
    [InlineData("/srv/./www", "/srv/www")]
    [InlineData("/", "/")]
    public void NormalizeAbsolutePath(string text, string expected)
    {
        Assert.True(JobValues.TryNormalizeAbsolutePath(text, out var path, out _));
        Assert.Equal(expected, path);
    }

    [Fact]
    public void NormalizeAgentId_AcceptsCaseAndColons()
    {
        var colons = string.Join(':', Enumerable.Range(0, 32).Select(i => JobSamples.Id.Substring(i * 2, 2).ToUpperInvariant()));
        Assert.True(JobValues.TryNormalizeAgentId(colons, out var id));
        Assert.Equal(JobSamples.Id, id);
        Assert.False(JobValues.TryNormalizeAgentId(JobSamples.Id[1..], out _));
        Assert.False(JobValues.TryNormalizeAgentId(JobSamples.Id[1..] + "g", out _));
    }

    [Fact]
    public void KeySuggestions_FindsCloseKeysOnly()
    {
        Assert.Equal("exclude", KeySuggestions.Closest("exlcude", ["paths", "exclude"]));
        Assert.Equal("queue_limit", KeySuggestions.Closest("queue-limit", ["enabled", "queue_limit"]));
        Assert.Null(KeySuggestions.Closest("banana", ["paths", "exclude"]));
    }
}
