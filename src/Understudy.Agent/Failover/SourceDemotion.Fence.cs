using Understudy.Agent.Events;
using Understudy.Agent.Identity;
using Understudy.Agent.State;
using Understudy.Core.Jobs;

namespace Understudy.Agent.Failover;

/// <summary>What the stand-down at start did for one job (<see cref="SourceDemotion.StandDownStoredAsync"/>), recorded once the event log exists.</summary>
/// <param name="Why">Why the job was fenced; null for a job that stood down already (the target said it holds the identity).</param>
/// <param name="AddressesGone">From the agent process's start to the moment its addresses were gone.</param>
internal sealed record EarlyStandDown(JobSpec Spec, string? Why, StandDown Down, TimeSpan AddressesGone);

/// <summary>
/// The returning source's fence (issue 20, item 4): a source that went down before it heard of its fail-over comes
/// back with whatever its OS brings up at boot (the service address, the share, the export) while the target may hold
/// them. So at agent start, as soon as the state store is open (before the API, the peer link and the jobs), each stored
/// job with an identity that the target may have taken over while this agent was away
/// (<see cref="TargetContact.MayHaveTakenOver"/>) is fenced: made passive and stood down at once
/// (<see cref="PassiveGuard.Fence"/>, event 830). Then the passive poller asks the target: "resume" (it neither holds the
/// identity nor failed the job over) lifts the fence, the identity is taken back (duplicate address detection first) and
/// the job protects again (831); "holds" confirms it (832), and the job is passive until fail-back. A target that
/// cannot be reached keeps the fence: this host never risks serving the identity beside it. A job that stood down
/// already (the target said it holds the identity) stands down again, as before.
/// </summary>
internal sealed partial class SourceDemotion
{
    /// <summary>At agent start, first, before the event log: every stored job that must stand down, or that the target may have taken over meanwhile.</summary>
    public static async Task<IReadOnlyList<EarlyStandDown>> StandDownStoredAsync(StateStore store, TimeProvider time, SourceIdentity identity, CancellationToken ct)
    {
        var done = new List<EarlyStandDown>();
        foreach (var stored in store.ListJobs())
        {
            JobSpec spec;
            try
            {
                spec = JobFile.Parse(stored.Yaml, $"job {stored.Name}");
            }
            catch (JobFileException)
            {
                continue; // JobManager.LoadStored says so (event 200)
            }
            if (spec.Failover is null || !HasIdentity(spec))
                continue;
            string? why = PassiveGuard.MustStandDown(store, spec.Name) ? null : TargetContact.MayHaveTakenOver(store, spec, time.GetUtcNow());
            if (why is null && !PassiveGuard.MustStandDown(store, spec.Name))
                continue;
            if (why is not null)
                PassiveGuard.Fence(store, spec.Name, $"fenced at start: {why}; passive until the target answers", time.GetUtcNow());
            var down = new StandDown();
            TimeSpan gone;
            await identity.Gate.WaitAsync(ct);
            try
            {
                await identity.DropAddressesAsync(spec, down, ct);
                gone = SinceProcessStart();
                await identity.SharesOffAsync(spec, down, onlyIfChanged: true, ct);
                await identity.UnexportAsync(spec, down, ct);
            }
            finally
            {
                identity.Gate.Release();
            }
            done.Add(new EarlyStandDown(spec, why, down, gone));
        }
        return done;
    }

    /// <summary>Once the event log exists, still before anything serves: what <see cref="StandDownStoredAsync"/> did.</summary>
    public void RecordEarly(IReadOnlyList<EarlyStandDown> early)
    {
        foreach (var e in early)
        {
            if (e.Why is not null)
                RecordFence(e);
            Record(e.Spec, e.Down, announced: e.Why is not null);
        }
    }

    private static bool HasIdentity(JobSpec spec)
    {
        var id = spec.Failover!.Identity;
        return id.Addresses.Count > 0 || id.Shares.Count > 0 || SourceIdentity.Exports(spec).Count > 0;
    }

    /// <summary>From the process's start (before the runtime loaded): the figure a host's boot window is measured by (docs/chaos.md).</summary>
    private static TimeSpan SinceProcessStart()
    {
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        return DateTime.Now - self.StartTime;
    }

    private void RecordFence(EarlyStandDown e)
    {
        var removed = e.Down.Dropped.Count == 0 ? "nothing (none of it was up here)" : string.Join(", ", e.Down.Dropped);
        ctx.Events.Record(EventCode.SourceFenced, Severity.Warning, "failover", e.Spec.Name,
            $"fenced at start: {e.Why}; removed {removed}, the addresses {e.AddressesGone.TotalMilliseconds:0} ms after the agent process started; the job "
            + "stays passive until the target says whether it holds the identity (while it cannot be reached, the fence stays: docs/failover-planning.md)",
            new { dropped = e.Down.Dropped, why = e.Why, msSinceProcessStart = Math.Round(e.AddressesGone.TotalMilliseconds) });
    }
}
