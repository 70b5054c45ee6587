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
    /// The source host reboots while failed over, its service address in its static network configuration: agent
    /// killed, the address up again as the OS brings it, agent started. Two cases, by the hold's parity: the source
    /// knew of the fail-over (it was passive before it went down) and must take the address down before its API answers;
    /// or it went down at once and can learn only from the target or the witness, so the window lasts until it stands
    /// down (event 750). Either window is a boot window: reported, not a violation; no stand-down within a minute is one.
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
        try
        {
            await RestartAsync(F.Source);
        }
        finally
        {
            _boots.Add((from, DateTime.UtcNow));
        }
        if (knew)
            return;
        try
        {
            await FailoverProbe.WaitAsync(F.Target, FailoverLab.Job, _ => !F.Holders(F.Vip).Contains("src"), "the returning source to stand down", Deadline);
            var events = await FailoverProbe.EventsAsync(F.Source, FailoverLab.Job);
            var at = events.Where(ev => ev.Code == EventCode.SourceDemoted && ev.Time.UtcDateTime >= from).Select(ev => ev.Time.UtcDateTime).DefaultIfEmpty(DateTime.UtcNow).First();
            _boots.Add((from, at.AddMilliseconds(100)));
            Log(string.Create(CultureInfo.InvariantCulture, $"returning source stood down {(at - from).TotalSeconds:0.00}s after its address came up"));
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
