using Understudy.Agent.Common;
using Xunit;

namespace Understudy.Agent.Tests.Hosting;

/// <summary>The agent's timing knobs, read once at start (docs/cli.md, "Agent environment").</summary>
public sealed class AgentSettingsTests
{
    [Fact]
    public void FromEnvironment_Knobs_SetTheirSettings()
    {
        var env = new Dictionary<string, string>
        {
            ["UNDERSTUDY_PASSIVE_POLL_MS"] = "500",
            ["UNDERSTUDY_RESTORE_SYNC_MS"] = "250",
            ["UNDERSTUDY_VERIFY_SCHEDULE_MS"] = "1500",
        };
        var s = AgentSettings.FromEnvironment(k => env.GetValueOrDefault(k));
        Assert.Equal(TimeSpan.FromMilliseconds(500), s.PassivePoll);
        Assert.Equal(TimeSpan.FromMilliseconds(250), s.RestoreSync);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), s.VerifySchedule);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("soon")]
    public void FromEnvironment_UnsetOrInvalid_KeepsDefaults(string? value)
    {
        var s = AgentSettings.FromEnvironment(k => k.EndsWith("_MS", StringComparison.Ordinal) ? value : null);
        Assert.Equal(AgentSettings.Default, s);
        Assert.Equal((TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(2), (TimeSpan?)null), (s.PassivePoll, s.RestoreSync, s.VerifySchedule));
    }

    [Fact]
    public void FromEnvironment_FaultFileSystem_OnlyWhenSet()
    {
        Assert.Null(AgentSettings.FromEnvironment(_ => null).FaultFileSystem);
        Assert.Null(AgentSettings.FromEnvironment(k => k == "UNDERSTUDY_FAULT_FS" ? "" : null).FaultFileSystem);
        Assert.Equal("/tmp/faults", AgentSettings.FromEnvironment(k => k == "UNDERSTUDY_FAULT_FS" ? "/tmp/faults" : null).FaultFileSystem);
    }

    [Fact]
    public void FromEnvironment_RefusalWindow_SetsTheThrottlesWindow()
    {
        Assert.Equal(TimeSpan.FromMinutes(1), AgentSettings.Default.RefusalWindow);
        var s = AgentSettings.FromEnvironment(k => k == "UNDERSTUDY_REFUSAL_WINDOW_MS" ? "3000" : null);
        Assert.Equal(TimeSpan.FromSeconds(3), s.RefusalWindow);
    }

#if DEBUG
    [Fact]
    public void FaultInjection_FromEnvironment_ThrowsAtTheFirstStartsOfTheNamedLoops()
    {
        Assert.Null(FaultInjection.FromEnvironment(_ => null));
        var faults = FaultInjection.FromEnvironment(k => k == "UNDERSTUDY_FAULT_LOOPS" ? "capture:2, replication" : null);
        Assert.NotNull(faults);
        Assert.Throws<InvalidOperationException>(() => faults.Throw("capture"));
        Assert.Throws<InvalidOperationException>(() => faults.Throw("capture"));
        faults.Throw("capture");
        Assert.Throws<InvalidOperationException>(() => faults.Throw("replication"));
        faults.Throw("replication");
        faults.Throw("passive-poller");
    }
#endif
}
