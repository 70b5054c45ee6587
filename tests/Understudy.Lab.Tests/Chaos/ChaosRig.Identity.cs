using System.Globalization;
using Understudy.Agent.Events;
using Understudy.LabTests.Failover;
using Understudy.Testing;
using Understudy.Testing.Lab;

namespace Understudy.LabTests.Chaos;

/// <summary>The faults that need a fail-over first, and fail-back.</summary>
internal sealed partial class ChaosRig
{
    /// <summary>
    /// Fails over by cutting the source's link until the target holds the identity (the witness lets it once the
    /// source's lease ran out), then heals the link. False (with a note) when the target did not take over.
    /// </summary>
    private async Task<bool> EnsureFailedOverAsync()
    {
        var state = await TargetStateAsync();
        if (state is "failed-over")
            return true;
        if (state is "restoring" or "failing-back" or "failing-over")
        {
            Notes.Add($"could not force a fail-over: the target is {state}");
            return false;
        }
        await F.Lab.CutLinkAsync(F.Lab.Source);
        Log("source link cut to force a fail-over");
        try
        {
            await FailoverProbe.WaitStateAsync(F.Target, FailoverLab.Job, "failed-over", Deadline);
            return true;
        }
        catch (TimeoutException ex)
        {
            Notes.Add("a forced fail-over did not happen: " + ex.Message);
            return false;
        }
        finally
        {
            await F.Lab.RestoreLinkAsync(F.Lab.Source);
            Log("source link restored");
        }
    }

    /// <summary>The target host reboots while failed over: agent killed, the added address and Understudy's shares gone, agent started again.</summary>
    private async Task TargetRebootsAsync(ChaosEpisode e)
    {
        if (!await EnsureFailedOverAsync())
            return;
        F.Target.Kill();
        if (F.Holders(F.Vip).Contains("tgt"))
            await F.Lab.RemoveAddressAsync(F.Lab.Target, F.Vip);
        var shares = Path.Combine(F.SambaIncludeDir, "shares.conf");
        if (File.Exists(shares))
            await File.WriteAllTextAsync(shares, "");
        await F.TargetSmbd.ReloadAsync();
        await Task.Delay(e.Hold / 4);
        await RestartAsync(F.Target);
    }

    /// <summary>
    /// How long a returning source's agent may take, from its process's start, to take down the identity its OS brought
    /// up (the fence or the stand-down at start, issue 20, item 4). Measured (docs/chaos.md): 1.2-3.9 s in the lab's
    /// debug build, 2.2-4.1 s for a release build on the shared 2-core machine at a load average of 50-60. Overlaps
    /// inside this boot window are reported apart; any later one is a violation.
    /// </summary>
    public static readonly TimeSpan DemoteBudget = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The source host reboots while failed over, its service address in its static network configuration: agent
    /// killed, the address up again as the OS brings it, agent started. Two cases, by the hold's parity: the source
    /// knew of the fail-over (it was passive before it went down) and stands down at start; or it went down at once and
    /// fences itself at start, having been away longer than the target needs to take over (event 830). Either way the
    /// address must be gone within <see cref="DemoteBudget"/> of the agent's start: the boot window, reported apart; an
    /// overlap after it is a violation, and so is no stand-down within a minute.
    /// </summary>
    private async Task SourceReturnsAsync(ChaosEpisode e)
    {
        if (!await EnsureFailedOverAsync())
            return;
        var knew = e.Hold.Milliseconds % 2 == 0;
        if (knew)
        {
            try
            {
                await Wait.UntilAsync(async () => (await F.Source.StatusAsync(FailoverLab.Job))["state"]?.GetValue<string>() == "failed-over (passive)",
                    Deadline, "the source to be passive");
            }
            catch (TimeoutException ex)
            {
                Notes.Add("the source did not turn passive before its reboot: " + ex.Message);
                knew = false;
            }
        }
        F.Source.Kill();
        await Task.Delay(e.Hold / 4);
        var from = DateTime.UtcNow;
        if (!F.Holders(F.Vip).Contains("src"))
            await F.Lab.AddAddressAsync(F.Lab.Source, F.Vip);
        Log($"source rebooting with the service address configured ({(knew ? "it knew of the fail-over" : "it did not know of the fail-over")})");
        // The agent's process starts now: the boot window ends DemoteBudget later, whatever the agent does.
        _boots.Add((from, DateTime.UtcNow + DemoteBudget));
        await RestartAsync(F.Source);
        try
        {
            await FailoverProbe.WaitAsync(F.Target, FailoverLab.Job, _ => !F.Holders(F.Vip).Contains("src"), "the returning source to stand down", Deadline);
            var events = await FailoverProbe.EventsAsync(F.Source, FailoverLab.Job);
            var at = events.Where(ev => ev.Code is EventCode.SourceFenced or EventCode.SourceDemoted && ev.Time.UtcDateTime >= from).Select(ev => ev.Time.UtcDateTime)
                .DefaultIfEmpty(DateTime.UtcNow).First();
            var fenced = events.LastOrDefault(ev => ev.Code == EventCode.SourceFenced && ev.Time.UtcDateTime >= from);
            Log(string.Create(CultureInfo.InvariantCulture, $"returning source stood down {(at - from).TotalSeconds:0.00}s after its address came up")
                + (fenced?.Data?["msSinceProcessStart"] is { } ms ? $" (fenced: addresses gone {ms} ms after its agent process started)" : ""));
        }
        catch (TimeoutException ex)
        {
            Violations.Add("(1) the returning source never stood down: " + ex.Message);
        }
    }

    /// <summary>Restore, then fail-back, on the target, once the source is passive; what refuses or fails is a note (the run stays failed over).</summary>
    public async Task FailbackAsync()
    {
        try
        {
            await Wait.UntilAsync(async () => (await F.Source.StatusAsync(FailoverLab.Job))["state"]?.GetValue<string>() == "failed-over (passive)",
                Deadline, "the source to be passive");
            var restore = await F.Target.CliAsync(["restore", FailoverLab.Job, "--wait", "--timeout", "180"]);
            if (restore.ExitCode != 0)
            {
                Notes.Add($"restore failed ({restore.ExitCode}): {restore.Stderr.Trim()}{restore.Stdout.Trim()}");
                return;
            }
            var fb = await F.Target.CliAsync(["failback", FailoverLab.Job]);
            if (fb.ExitCode != 0)
            {
                Notes.Add($"fail-back failed ({fb.ExitCode}): {fb.Stderr.Trim()}{fb.Stdout.Trim()}");
                return;
            }
            Failbacks++;
            Log("failed back");
        }
        catch (Exception ex) when (ex is TimeoutException or LabException)
        {
            Notes.Add("fail-back not possible: " + ex.Message);
        }
    }
}
