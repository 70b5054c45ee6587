using Understudy.Agent.Failover;
using Understudy.Agent.Identity;
using Understudy.Core.Jobs;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Failover;

/// <summary>
/// <c>method: script</c> (docs/job-file.md, <c>failover.monitor</c>): real scripts from a scripts directory, run the way
/// fail-over scripts are (ScriptProcess: own process group, ended at the timeout); and in a real pair, a script probe
/// that runs only once the plan is approved and, weighted above a host that still answers, raises a fail-over.
/// </summary>
public sealed class ScriptProbeTests
{
    private static string Script(string dir, string name, string body)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead
            | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return path;
    }

    private static MonitorAddress Probe(string run) => new() { Address = "192.0.2.10", Method = MonitorMethod.Script, Run = run };

    [Fact]
    public async Task Exit0_IsUp_OtherExits_MissingOrWritableScripts_AreMisses()
    {
        using var dir = new TempDir();
        var prober = new NetworkProber(ProcessCommandRunner.Instance, dir.Path);
        Script(dir.Path, "ok.sh", "[ \"$UNDERSTUDY_PROBE_ADDRESS\" = 192.0.2.10 ]");
        Script(dir.Path, "fails.sh", "exit 3");
        var writable = Script(dir.Path, "writable.sh", "exit 0");
        File.SetUnixFileMode(writable, File.GetUnixFileMode(writable) | UnixFileMode.OtherWrite);

        Assert.True(await prober.ProbeAsync(Probe("ok.sh"), TimeSpan.FromSeconds(10), default));
        Assert.False(await prober.ProbeAsync(Probe("fails.sh"), TimeSpan.FromSeconds(10), default));
        Assert.False(await prober.ProbeAsync(Probe("missing.sh"), TimeSpan.FromSeconds(10), default));
        Assert.False(await prober.ProbeAsync(Probe("writable.sh"), TimeSpan.FromSeconds(10), default));
    }

    [Fact]
    public async Task AScriptThatHangs_IsAMissAtTheTimeout_AndWhatItStartedIsKilledWithIt()
    {
        using var dir = new TempDir();
        var pidFile = dir.Sub("child.pid");
        Script(dir.Path, "hangs.sh", $"sleep 300 &\necho $! > {pidFile}\nsleep 300");
        var prober = new NetworkProber(ProcessCommandRunner.Instance, dir.Path);

        Assert.False(await prober.ProbeAsync(Probe("hangs.sh"), TimeSpan.FromMilliseconds(500), default));
        var child = File.ReadAllText(pidFile).Trim();
        // Its background child was in its process group: ended with it, not left running a probe at a time.
        await Wait.UntilAsync(() => !Directory.Exists($"/proc/{child}") || File.ReadAllText($"/proc/{child}/stat").Split(' ')[2] == "Z",
            TimeSpan.FromSeconds(30), "the script's child to be killed");
    }

    [Fact]
    public async Task ScriptProbe_RunsOnlyOnceThePlanIsApproved_AndAWeightedDeadServiceRaisesAFailover_WhileTheHostAnswers()
    {
        await using var pair = new AgentPair();
        var scripts = pair.Dir.Sub("scripts");
        Directory.CreateDirectory(scripts);
        var ran = pair.Dir.Sub("probe-ran");
        var down = pair.Dir.Sub("service-down");
        Script(scripts, "service-alive.sh", $"echo run >> {ran}\n[ ! -e {down} ]");
        pair.Target.Environment["UNDERSTUDY_SCRIPTS_DIR"] = scripts;
        await pair.StartAsync();
        File.WriteAllText(Path.Combine(pair.SourceData, "a.txt"), "hello");
        await pair.ApplyAsync(pair.JobYaml(extra: $$"""
            failover:
              monitor:
                addresses:
                  - { address: 127.0.0.1, method: tcp, port: {{pair.Source.PeerPort}}, weight: 1 }
                  - { address: 127.0.0.1, method: script, run: service-alive.sh, weight: 2 }
                policy: weight
                threshold: 2
                interval: 300ms
                timeout: 300ms
                misses: 3
            """));
        await pair.WaitMirroredAsync();
        // The host answers; the script has not run, though the monitor has gone round many times.
        await Wait.UntilAsync(async () => (await pair.Target.FailoverAsync("job1"))?["addresses"]?[0]?["state"]?.GetValue<string>() == "up",
            TimeSpan.FromSeconds(30), "the target to monitor the source");
        var show = (await pair.Target.CliAsync("failover", "job1", "--show")).EnsureOk().Stdout;
        Assert.Contains("monitor script service-alive.sh for 127.0.0.1 (runs as root every 300ms once approved", show, StringComparison.Ordinal);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(2);
        await Wait.UntilAsync(() => DateTime.UtcNow > until, TimeSpan.FromSeconds(10), "several monitor rounds");
        Assert.False(File.Exists(ran), "a script probe ran before the plan was approved");

        await pair.Target.ApproveFailoverAsync("job1");
        await Wait.UntilAsync(() => File.Exists(ran), TimeSpan.FromSeconds(30), "the script probe to run once approved");
        Assert.Equal("protecting", await pair.Target.FailoverStateAsync("job1"));

        // The service dies, the host does not: the script's weight alone reaches the threshold.
        File.WriteAllText(down, "");
        await Wait.UntilAsync(async () => await pair.Target.FailoverStateAsync("job1") == "fail-over-pending", TimeSpan.FromSeconds(30),
            "the fail-over to wait for an operator");
        var f = await pair.Target.FailoverAsync("job1");
        Assert.Equal(("up", "missing"), (f!["addresses"]![0]!["state"]!.GetValue<string>(), f["addresses"]![1]!["state"]!.GetValue<string>()));
    }
}
