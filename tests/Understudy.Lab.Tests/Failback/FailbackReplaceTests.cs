using System.Text;
using Understudy.Agent.Events;
using Understudy.Testing;
using Understudy.LabTests.Failover;
using Understudy.Testing.Lab;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.LabTests.Failback;

/// <summary>
/// Issue 5 §2 in mode replace: the target became the source (its own address, Samba name and host name
/// given up); fail-back stops writes on the shares before the final sync (seen from the client while
/// the final sync waits for a frozen source), then the target gets its own address and names back and
/// the source reclaims the service address; never held by two reachable hosts at once. Replication and
/// the restore run over a back-end link, which mode replace leaves alone.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class FailbackReplaceTests(ITestOutputHelper output)
{
    private const int SigStop = 19;
    private const int SigCont = 18;

    [LabFact(Needs = LabNeeds.Samba | LabNeeds.Agents)]
    public async Task Failback_ModeReplace_WritesStoppedBeforeTheFinalSync_TargetGetsItsOwnAddressAndNamesBack()
    {
        var machine = Environment.MachineName;
        await using var f = await FailoverLab.CreateAsync(new FailoverLabOptions { BackEnd = true });
        // The pre-fail-back script freezes the source agent: the fail-back then stops writes and waits in its
        // final sync (the source cannot answer), which is where the test looks at the shares.
        int sourcePid = f.Source.Pid;
        var freeze = f.Script("freeze-source.sh", $"kill -STOP {sourcePid}");
        await f.ApplyAndProtectAsync(f.FailoverYaml(mode: "replace", scripts: $"pre_failback: [ {{ run: {freeze} }} ]"));
        await using var watch = f.Lab.WatchAddress(f.Vip);

        await f.Lab.CutLinkAsync(f.Lab.Source);
        await FailoverProbe.WaitStateAsync(f.Target, FailoverLab.Job, "failed-over", TimeSpan.FromSeconds(30));
        Assert.Empty(f.Holders(f.Lab.Target.Address));
        Assert.Equal("LABSOURCE", await f.NetbiosNameAsync());
        Assert.Equal("LABSOURCE", await f.Lab.Target.HostnameNowAsync());
        var written = "written by the client during the fail-over\n"u8.ToArray();
        await SmbClient.WriteFileAsync(f.Lab.Client, f.Unc, "client.txt", written);

        // The source agent, which reaches the target over the back-end, stays passive and takes the service address down
        // itself once the target holds it (issue 20, item 4); the repaired source comes back without it.
        await Wait.UntilAsync(() => !f.Holders(f.Vip).Contains("src"), TimeSpan.FromSeconds(30), "the passive source to take the service address down");
        await f.Lab.RestoreLinkAsync(f.Lab.Source);
        await Wait.UntilAsync(async () => (await f.Source.StatusAsync(FailoverLab.Job))["state"]?.GetValue<string>() == "failed-over (passive)",
            TimeSpan.FromSeconds(60), "the source to stay passive");
        await f.Target.CliOkAsync(["restore", FailoverLab.Job, "--wait", "--timeout", "120"]);
        Assert.Equal(written, await File.ReadAllBytesAsync(Path.Combine(f.SourceData, "client.txt")));

        var failback = f.Target.CliAsync(["failback", FailoverLab.Job, "--json"]);
        var sharesConf = Path.Combine(f.SambaIncludeDir, "shares.conf");
        var continuedAt = DateTimeOffset.MaxValue;
        try
        {
            await Wait.UntilAsync(() => IsStopped(sourcePid) && File.ReadAllText(sharesConf).Contains("read only = yes", StringComparison.Ordinal),
                TimeSpan.FromSeconds(60), "the source frozen by the pre-fail-back script and the shares read only");
            await FailoverProbe.WaitEventAsync(f.Target, FailoverLab.Job, EventCode.StepStarted, TimeSpan.FromSeconds(30), "final restore sync");
            Assert.False(failback.IsCompleted, "the fail-back finished while the source could not answer its final sync");

            // Writes are refused through the share, reads still work: nothing a client writes now can miss the final sync.
            var refused = await SmbClient.TryWriteFileAsync(f.Lab.Client, f.Unc, "too-late.txt", "after writes stopped\n"u8.ToArray());
            Assert.False(refused.Ok, "a client could still write to the share after writes were stopped");
            output.WriteLine($"write while stopped: {refused.Error}");
            Assert.Equal(written, await SmbClient.ReadFileAsync(f.Lab.Client, f.Unc, "client.txt"));
            Assert.False(File.Exists(Path.Combine(f.Replica, "too-late.txt")));
        }
        finally
        {
            continuedAt = DateTimeOffset.UtcNow;
            output.WriteLine($"{continuedAt.ToLocalTime():HH:mm:ss.fff} the source agent continues (SIGCONT)");
            _ = Native.Kill(sourcePid, SigCont);
        }
        var done = await failback;
        var events = await FailoverProbe.EventsAsync(f.Target, FailoverLab.Job);
        foreach (var e in events)
            output.WriteLine(e.ToString());
        Assert.True(done.ExitCode == 0, done.Stdout + done.Stderr);
        Assert.Equal("protecting", (await FailoverProbe.StatusAsync(f.Target, FailoverLab.Job)).State);

        // The target is itself again: its own address, Samba name and host name; the source holds the service address.
        Assert.Equal(["src"], f.Holders(f.Vip));
        Assert.Equal(["tgt"], f.Holders(f.Lab.Target.Address));
        Assert.Equal(f.TargetSmbd.NetbiosName, await f.NetbiosNameAsync());
        Assert.Equal(f.TargetSmbd.NetbiosName, await SmbClient.ServerNameAsync(f.Lab.Client, f.Lab.Target.Address));
        Assert.DoesNotContain("netbios name", await File.ReadAllTextAsync(Path.Combine(f.SambaIncludeDir, "name.conf")), StringComparison.Ordinal);
        Assert.DoesNotContain($"[{FailoverLab.Share}]", await File.ReadAllTextAsync(sharesConf), StringComparison.Ordinal);
        Assert.Equal(f.Lab.Target.Hostname, await f.Lab.Target.HostnameNowAsync());
        Assert.Equal(machine, Environment.MachineName);
        Assert.True(await f.Lab.PingAsync(f.Lab.Client, f.Lab.Target.Address), "the target does not answer at its own address again");
        var (read, _) = await SmbClient.PollReadAsync(f.Lab.Client, f.Unc, "client.txt", TimeSpan.FromSeconds(30), r => r.Content.AsSpan().SequenceEqual(written));
        Assert.Equal(Encoding.UTF8.GetString(written), read.Text);

        var log = events.Where(e => e.Is(EventCode.StepStarted)).Select(e => e.Message).ToList();
        int stopWrites = log.FindIndex(m => m.StartsWith("failback step", StringComparison.Ordinal) && m.EndsWith("stop writes on the shares", StringComparison.Ordinal));
        int finalSync = log.FindIndex(m => m.StartsWith("failback step", StringComparison.Ordinal) && m.EndsWith("final restore sync", StringComparison.Ordinal));
        Assert.True(stopWrites >= 0 && finalSync > stopWrites, "stop writes runs before the final sync");
        Assert.True(FailoverProbe.One(events, EventCode.FailbackFinalSync).Time >= continuedAt, "the final sync ended before the frozen source could answer");
        await watch.StopAsync();
        watch.EnsureNeverHeldByBoth(ignoreCutHosts: true);
    }

    /// <summary>State T in /proc/PID/stat: stopped by a signal.</summary>
    private static bool IsStopped(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('T');
    }
}
