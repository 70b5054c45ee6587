using Understudy.Agent.Events;
using Understudy.Testing;
using Understudy.Testing.Lab;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.LabTests.Failover;

/// <summary>
/// §7 (g): the target agent killed (SIGKILL) in the middle of a take-over finishes it when it starts
/// again, from its step journal. A script that hangs on its first run (and only then) holds the take-over
/// at a known step while the test kills the agent.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class CrashResumeTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents)]
    public Task TargetKilledDuringPreScript_CompletesTheFailoverAfterRestart() => KillAndResumeAsync("pre_failover", stepsDoneBefore: 1);

    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents)]
    public Task TargetKilledDuringPostScript_CompletesTheFailoverAfterRestart() => KillAndResumeAsync("post_failover", stepsDoneBefore: 5);

    private async Task KillAndResumeAsync(string phase, int stepsDoneBefore)
    {
        await using var f = await FailoverLab.CreateAsync();
        var started = f.Lab.Target.Sub("script-started");
        var runs = f.Lab.Target.Sub("script-runs");
        // First run: mark, then hang far longer than the test waits (killed with the lab). Later runs: finish at once.
        var script = f.Script("slow.sh", $"echo \"$UNDERSTUDY_PHASE\" >> {runs}\nif [ ! -e {started} ]; then touch {started}; sleep 120; fi\necho \"$UNDERSTUDY_PHASE done\"");
        await f.ApplyAndProtectAsync(f.FailoverYaml(scripts: $"{phase}: [ {{ run: {script}, timeout: 5m }} ]"));
        await using var watch = f.Lab.WatchAddress(f.Vip);

        await f.Lab.CutLinkAsync(f.Lab.Source);
        await Wait.UntilAsync(() => File.Exists(started), Deadline, "the take-over to reach the script");
        Assert.Equal("failing-over", (await FailoverProbe.StatusAsync(f.Target, FailoverLab.Job)).State);
        f.Target.Kill();
        var before = await f.CountOnTargetAsync(f.Vip);

        await f.Target.StartAsync();
        await FailoverProbe.WaitStateAsync(f.Target, FailoverLab.Job, "failed-over", Deadline);
        await watch.StopAsync();

        Assert.Equal(1, await f.CountOnTargetAsync(f.Vip));
        Assert.Equal(["src", "tgt"], f.Holders(f.Vip)); // the source's copy is behind its cut link
        watch.EnsureNeverHeldByBoth(ignoreCutHosts: true);
        Assert.Equal(FailoverLab.Content, await SmbClient.ReadFileAsync(f.Lab.Client, f.Unc, FailoverLab.FileName));
        Assert.Equal(2, File.ReadAllLines(runs).Length);

        var events = await FailoverProbe.EventsAsync(f.Target, FailoverLab.Job);
        foreach (var e in events)
            output.WriteLine(e.ToString());
        output.WriteLine($"address copies on the target when it was killed: {before}");
        FailoverProbe.One(events, EventCode.StepsResumed, $"{stepsDoneBefore} of 6 steps were done");
        FailoverProbe.One(events, EventCode.FailoverTriggered);
        FailoverProbe.One(events, EventCode.FailoverCompleted);
        var dashed = phase.Replace('_', '-');
        var succeeded = FailoverProbe.One(events, EventCode.ScriptSucceeded);
        Assert.Equal((script, dashed), (succeeded.Data!["script"]!.GetValue<string>(), succeeded.Data!["phase"]!.GetValue<string>()));
        Assert.StartsWith($"{dashed} done", succeeded.Data!["output"]!.GetValue<string>(), StringComparison.Ordinal);
        // Every step shows once before the kill (up to the script) and the rest once after.
        Assert.Equal(7, events.Count(e => e.Is(EventCode.StepStarted)));
    }
}
