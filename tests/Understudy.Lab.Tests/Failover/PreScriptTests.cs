using Understudy.Agent.Events;
using Understudy.Testing;
using Understudy.Testing.Lab;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.LabTests.Failover;

/// <summary>§7 (d): a failing pre-fail-over script aborts the take-over when the job says so, and only then.</summary>
[Collection(LabCollection.Name)]
public sealed class PreScriptTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private static string FailingScript(FailoverLab f) =>
        f.Script("pre.sh", "echo \"pre-check refuses: $UNDERSTUDY_JOB $UNDERSTUDY_PHASE $UNDERSTUDY_ADDRESSES $UNDERSTUDY_SHARES\"\nexit 3");

    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents)]
    public async Task FailingPreScript_AbortOnPreFailure_AbortsAndUndoes_ReplicationResumes()
    {
        await using var f = await FailoverLab.CreateAsync();
        var script = FailingScript(f);
        await f.ApplyAndProtectAsync(f.FailoverYaml(trigger: "manual", scripts: $"pre_failover: [ {{ run: {script}, timeout: 10s }} ]", abortOnPreFailure: true));

        // Planned fail-over with the source still up: the pre-script is the operator's last check.
        var run = await f.Target.CliAsync(["failover", FailoverLab.Job]);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("aborted and undone", run.Stderr, StringComparison.Ordinal);

        // An abort lands in fail-over-pending; the source still answers, so the monitor takes the job back to protecting.
        await FailoverProbe.WaitAsync(f.Target, FailoverLab.Job, s => s.IsProtectingAndUp, "protecting again after the abort", Deadline);
        Assert.Equal(["src"], f.Holders(f.Vip));
        Assert.Equal(0, await f.CountOnTargetAsync(f.Vip));
        Assert.False(File.Exists(Path.Combine(f.SambaIncludeDir, "shares.conf")) && File.ReadAllText(Path.Combine(f.SambaIncludeDir, "shares.conf")).Contains("[data]", StringComparison.Ordinal),
            "the share was left in the target's smb.conf");
        var events = await FailoverProbe.EventsAsync(f.Target, FailoverLab.Job);
        foreach (var e in events)
            output.WriteLine(e.ToString());
        var failed = FailoverProbe.One(events, EventCode.StepAborted, $"'pre-failover script #1 {script}'");
        Assert.Equal(3, failed.Data!["exitCode"]!.GetValue<int>());
        // The script saw the job, its phase, the addresses and the shares in its environment.
        Assert.StartsWith($"pre-check refuses: files pre-failover {f.Vip}/24 data", failed.Data!["output"]!.GetValue<string>(), StringComparison.Ordinal);
        FailoverProbe.One(events, EventCode.FailoverAborted);
        FailoverProbe.One(events, EventCode.SourceRecovered, "every watched address answers");
        Assert.DoesNotContain(events, e => e.Is(EventCode.StepStarted, "step 3/"));

        // The take-over stopped replication first; after the abort the source replicates again.
        await File.WriteAllTextAsync(Path.Combine(f.SourceData, "after-abort.txt"), "still replicated");
        await Wait.UntilAsync(() => File.Exists(Path.Combine(f.Replica, "after-abort.txt")), TimeSpan.FromSeconds(30), "replication to resume after the aborted fail-over");
    }

    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents)]
    public async Task FailingPreScript_NoAbortOnPreFailure_FailsOverWithAWarning()
    {
        await using var f = await FailoverLab.CreateAsync();
        var script = FailingScript(f);
        await f.ApplyAndProtectAsync(f.FailoverYaml(scripts: $"pre_failover: [ {{ run: {script}, timeout: 10s }} ]", abortOnPreFailure: false));

        await f.Lab.CutLinkAsync(f.Lab.Source);
        await FailoverProbe.WaitStateAsync(f.Target, FailoverLab.Job, "failed-over", Deadline);
        Assert.Equal(1, await f.CountOnTargetAsync(f.Vip));
        Assert.Equal(FailoverLab.Content, await SmbClient.ReadFileAsync(f.Lab.Client, f.Unc, FailoverLab.FileName));
        var events = await FailoverProbe.EventsAsync(f.Target, FailoverLab.Job);
        foreach (var e in events)
            output.WriteLine(e.ToString());
        var warning = FailoverProbe.One(events, EventCode.StepWarning, $"'pre-failover script #1 {script}'");
        Assert.Equal(3, warning.Data!["exitCode"]!.GetValue<int>());
        Assert.Equal("warning", warning.Severity);
        Assert.Contains("pre-check refuses", warning.Data!["output"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(1, FailoverProbe.One(events, EventCode.FailoverCompleted).Data!["warnings"]!.GetValue<int>());
    }
}
