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
        var name = "script-" + Guid.NewGuid().ToString("N")[..6] + ".sh";
        var path = dir.Sub(name);
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return name;
    }

    private static readonly ScriptEnvironment Env = new("web", ScriptEnvironment.PreFailover, ["192.0.2.10/24", "192.0.2.11/24"], ["data", "home"]);

    private static (StepContext Ctx, List<(EventCode Code, string Severity, string Message, object? Data)> Events) Context(TempDir? scriptsDir = null)
    {
        var events = new List<(EventCode, string, string, object?)>();
        var ctx = new StepContext("web", ProcessCommandRunner.Instance, new IdentityOptions { ScriptsDir = scriptsDir?.Path ?? "/nonexistent/understudy-scripts" }, (c, s, m, d) => events.Add((c, s, m, d)), _ => { });
        return (ctx, events);
    }

    [Fact]
    public async Task Script_GetsJobPhaseAddressesAndShares_OutputIntoEvent()
    {
        using var dir = new TempDir();
        var out1 = dir.Sub("env.txt");
        var script = Script(dir, $"echo \"$UNDERSTUDY_JOB|$UNDERSTUDY_PHASE|$UNDERSTUDY_ADDRESSES|$UNDERSTUDY_SHARES\" > {out1}; echo hello from the script");
        var (ctx, events) = Context(dir);
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
        var (ctx, _) = Context(dir);
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
        var (ctx, _) = Context(dir);
        var e = await Assert.ThrowsAsync<StepFailedException>(() =>
            new ScriptStep(new ScriptSpec { Run = script, Timeout = TimeSpan.FromMilliseconds(300) }, Env, true, 0).ApplyAsync(ctx, CancellationToken.None));
        Assert.Contains("timed out", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ScriptLeavingABackgroundChild_EndsWithItsExit_Succeeds()
    {
        using var dir = new TempDir();
        var pidFile = dir.Sub("child.pid");
        // The child inherits the script's output: waiting for the end of output would wait for the child, 20 s.
        var script = Script(dir, $"sleep 20 & echo $! > {pidFile}; echo started; exit 0");
        var (ctx, events) = Context(dir);
        var started = System.Diagnostics.Stopwatch.StartNew();
        await new ScriptStep(new ScriptSpec { Run = script, Timeout = TimeSpan.FromSeconds(2) }, Env, abortOnFailure: true, 0)
            .ApplyAsync(ctx, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        // Not a timing assertion: far from the child's 20 s, whatever the machine's load.
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(15), $"took {started.Elapsed}");
        Assert.Contains(events, e => e.Code == EventCode.ScriptSucceeded && e.Message.Contains("started", StringComparison.Ordinal));
        // What the script left running after a normal exit is left alone, as a shell leaves a background job (ending
        // the group then raced with `setsid daemon &`, ScriptProcess); only a timeout ends the group.
        var child = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        _ = Native.Kill(child, 9);
    }

    [Fact]
    public async Task HangingScript_IsKilledAtItsTimeout_WithTheChildrenItDetached()
    {
        using var dir = new TempDir();
        var pidFile = dir.Sub("child.pid");
        // The subshell exits at once, so the sleep is nobody's child but init's, yet still in the script's process group.
        var script = Script(dir, $"(sleep 300 & echo $! > {pidFile}); sleep 300");
        var (ctx, _) = Context(dir);
        var e = await Assert.ThrowsAsync<StepFailedException>(() =>
            new ScriptStep(new ScriptSpec { Run = script, Timeout = TimeSpan.FromSeconds(1) }, Env, true, 0)
                .ApplyAsync(ctx, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("timed out", e.Message, StringComparison.Ordinal);
        var child = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        await Wait.UntilAsync(() => !Alive(child), TimeSpan.FromSeconds(30), $"the detached child {child} to be killed");
    }

    [Fact]
    public async Task DaemonStartedWithSetsid_HoldingTheOutput_DoesNotHoldTheStep()
    {
        using var dir = new TempDir();
        var pidFile = dir.Sub("daemon.pid");
        // The documented way to leave a daemon: its own session. Its output is still the script's pipe here.
        var script = Script(dir, $"setsid sleep 20 & echo $! > {pidFile}; exit 0");
        var (ctx, _) = Context(dir);
        var started = System.Diagnostics.Stopwatch.StartNew();
        await new ScriptStep(new ScriptSpec { Run = script, Timeout = TimeSpan.FromSeconds(30) }, Env, true, 0)
            .ApplyAsync(ctx, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(15), $"took {started.Elapsed}");
        var daemon = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        // It left the script's group, so it was left alone.
        Assert.True(Alive(daemon), "the setsid daemon was killed with the script");
        _ = Native.Kill(daemon, 9);
    }

    [Fact]
    public async Task Script_GetsAMinimalEnvironment_NotTheAgents()
    {
        using var dir = new TempDir();
        var envFile = dir.Sub("env.txt");
        Environment.SetEnvironmentVariable("UNDERSTUDY_TEST_AGENT_ONLY", "secret");
        var script = Script(dir, $"env > {envFile}");
        var (ctx, _) = Context(dir);
        await new ScriptStep(new ScriptSpec { Run = script }, Env, true, 0).ApplyAsync(ctx, CancellationToken.None);
        var names = File.ReadAllLines(envFile).Select(l => l.Split('=')[0]).Where(n => n is not ("PWD" or "SHLVL" or "_")).Order().ToList();
        Assert.DoesNotContain("UNDERSTUDY_TEST_AGENT_ONLY", names);
        Assert.Equal(["PATH", "UNDERSTUDY_ADDRESSES", "UNDERSTUDY_JOB", "UNDERSTUDY_PHASE", "UNDERSTUDY_SHARES"], names);
    }

    /// <summary>A process that still runs: a zombie waiting for its reaper counts as gone.</summary>
    private static bool Alive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    [Fact]
    public async Task MissingScript_FailsWithAClearMessage()
    {
        var (ctx, _) = Context();
        var e = await Assert.ThrowsAsync<StepFailedException>(() =>
            new ScriptStep(new ScriptSpec { Run = "understudy-script" }, Env, true, 0).ApplyAsync(ctx, CancellationToken.None));
        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Issue 19, item 2: a plan runs scripts from this agent's scripts directory only; a plan stored before that
    /// rule (or sent by a hostile source) that names an absolute path, or a link out of the directory, runs nothing.</summary>
    [Fact]
    public async Task Script_AbsolutePath_OrLinkOutOfTheScriptsDirectory_RunsNothing()
    {
        using var dir = new TempDir();
        using var elsewhere = new TempDir();
        var marker = elsewhere.Sub("ran");
        var outside = Path.Combine(elsewhere.Path, Script(elsewhere, $"touch {marker}"));
        File.CreateSymbolicLink(dir.Sub("linked.sh"), outside);
        var (ctx, _) = Context(dir);

        var absolute = await Assert.ThrowsAsync<StepFailedException>(() =>
            new ScriptStep(new ScriptSpec { Run = outside }, Env, true, 0).ApplyAsync(ctx, CancellationToken.None));
        Assert.Contains("absolute path", absolute.Message, StringComparison.Ordinal);
        var linked = await Assert.ThrowsAsync<StepFailedException>(() =>
            new ScriptStep(new ScriptSpec { Run = "linked.sh" }, Env, true, 0).ApplyAsync(ctx, CancellationToken.None));
        Assert.Contains("leads out of the scripts directory", linked.Message, StringComparison.Ordinal);
        var escaping = await Assert.ThrowsAsync<StepFailedException>(() =>
            new ScriptStep(new ScriptSpec { Run = "../" + Path.GetFileName(elsewhere.Path) + "/" + Path.GetFileName(outside) }, Env, true, 0).ApplyAsync(ctx, CancellationToken.None));
        Assert.Contains("leaves or misnames a directory", escaping.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(marker), "no script outside the scripts directory ran");
    }

    [Fact]
    public async Task Script_WritableByOthers_IsRefused()
    {
        using var dir = new TempDir();
        var marker = dir.Sub("ran");
        var name = Script(dir, $"touch {marker}");
        File.SetUnixFileMode(dir.Sub(name), File.GetUnixFileMode(dir.Sub(name)) | UnixFileMode.OtherWrite);
        var (ctx, _) = Context(dir);
        var e = await Assert.ThrowsAsync<StepFailedException>(() =>
            new ScriptStep(new ScriptSpec { Run = name }, Env, true, 0).ApplyAsync(ctx, CancellationToken.None));
        Assert.Contains("chmod go-w", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(marker));
    }
}
