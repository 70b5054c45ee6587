using Understudy.Agent.Replication.Capture;
using Xunit;

namespace Understudy.Agent.Tests.Capture;

public sealed class WatcherOptionsTests
{
    [Fact]
    public void FromEnvironment_CaptureKnobs_SetMethodAndQueue()
    {
        var env = new Dictionary<string, string> { ["UNDERSTUDY_CAPTURE"] = "inotify", ["UNDERSTUDY_CAPTURE_QUEUE"] = "4" };
        var o = WatcherOptions.FromEnvironment(k => env.GetValueOrDefault(k));
        Assert.Equal(WatcherMethod.Inotify, o.Prefer);
        Assert.Equal(4, o.ChannelCapacity);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("kqueue", "1")]
    [InlineData("", "-5")]
    [InlineData("7", "many")]
    public void FromEnvironment_UnsetOrInvalid_KeepsDefaults(string? method, string? queue)
    {
        var o = WatcherOptions.FromEnvironment(k => k == "UNDERSTUDY_CAPTURE" ? method : k == "UNDERSTUDY_CAPTURE_QUEUE" ? queue : null);
        Assert.Equal(WatcherOptions.Default, o);
    }
}
