using Understudy.Agent.Events;
using Understudy.Agent.Failover;
using Understudy.Agent.Identity;
using Understudy.Testing;
using Understudy.Core.Jobs;
using Xunit;

namespace Understudy.Agent.Tests.Failover;

public sealed class ScriptStepTests
{
    private static string Script(TempDir dir, string body)
    {
        var path = dir.Sub("script-" + Guid.NewGuid().ToString("N")[..6] + ".sh");
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private static readonly ScriptEnvironment Env = new("web", ScriptEnvironment.PreFailover, ["192.0.2.10/24", "192.0.2.11/24"], ["data", "home"]);

    private static (StepContext Ctx, List<(EventCode Code, string Severity, string Message, object? Data)> Events) Context()
    {
        var events = new List<(EventCode, string, string, object?)>();
        var ctx = new StepContext("web", ProcessCommandRunner.Instance, new IdentityOptions(), (c, s, m, d) => events.Add((c, s, m, d)), _ => { });
        return (ctx, events);
    }

    [Fact]
    public async Task Script_GetsJobPhaseAddressesAndShares_OutputIntoEvent()
    {
        using var dir = new TempDir();
        var out1 = dir.Sub("env.txt");
        var script = Script(dir, $"echo \"$UNDERSTUDY_JOB|$UNDERSTUDY_PHASE|$UNDERSTUDY_ADDRESSES|$UNDERSTUDY_SHARES\" > {out1}; echo hello from the script");
        var (ctx, events) = Context();
        await new ScriptStep(new ScriptSpec { Run = script }, Env, abortOnFailure: true, 0).ApplyAsync(ctx, CancellationToken.None);
        Assert.Equal("web|pre-failover|192.0.2.10/24 192.0.2.11/24|data home", File.ReadAllText(out1).Trim());
        // The script's own output is the point: it is carried in the event's message.
        Assert.Contains(events, e => e.Code == EventCode.ScriptSucceeded && e.Message.Contains("hello from the script", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task FailingScript_AbortsOnlyWhenTold(bool abort)
    {
        using var dir = new TempDir();
        var script = Script(dir, "echo cannot stop the app >&2; exit 3");
        var (ctx, _) = Context();
        var e = await Assert.ThrowsAsync<StepFailedException>(() =>
            new ScriptStep(new ScriptSpec { Run = script }, Env, abort, 0).ApplyAsync(ctx, CancellationToken.None));
        Assert.Equal(abort, e.Abort);
        Assert.Contains("exit code 3", e.Message, StringComparison.Ordinal);
        Assert.Contains("cannot stop the app", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SlowScript_IsKilledAtItsTimeout()
    {
        using var dir = new TempDir();
        var script = Script(dir, "sleep 30");
        var (ctx, _) = Context();
        var e = await Assert.ThrowsAsync<StepFailedException>(() =>
            new ScriptStep(new ScriptSpec { Run = script, Timeout = TimeSpan.FromMilliseconds(300) }, Env, true, 0).ApplyAsync(ctx, CancellationToken.None));
        Assert.Contains("timed out", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingScript_FailsWithAClearMessage()
    {
        var (ctx, _) = Context();
        var e = await Assert.ThrowsAsync<StepFailedException>(() =>
            new ScriptStep(new ScriptSpec { Run = "/nonexistent/understudy-script" }, Env, true, 0).ApplyAsync(ctx, CancellationToken.None));
        Assert.Contains("could not run", e.Message, StringComparison.Ordinal);
    }
}
