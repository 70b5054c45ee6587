using Understudy.Agent.Events;
using Understudy.Agent.Jobs;
using Understudy.Agent.State;
using Understudy.Core.Api;
using Understudy.Core.Jobs;

namespace Understudy.Agent.Failover;

/// <summary>
/// The plan's approval by this target's operator (issue 19, item 2; <see cref="PlanReview"/>). Until the plan's digest
/// is approved nothing takes the source's identity over: a manual `failover` is refused, and a monitor that would
/// fail over automatically raises the job to fail-over-pending instead (event 673). A take-over already under way
/// when the plan was approved (or resumed after a restart) is not stopped: it holds half an identity.
/// </summary>
internal sealed partial class FailoverEngine
{
    /// <summary>The digest of <see cref="Spec"/>'s plan.</summary>
    public string PlanDigest => _digest ??= PlanReview.Digest(Spec);

    private string? _digest;

    /// <summary>What the operator last approved for this job (maybe an older plan), or null.</summary>
    public StoredApproval? Approval { get; private set; }

    public bool Approved => Approval?.Digest == PlanDigest;

    /// <summary>Why a take-over may not run now; null when the plan is approved.</summary>
    private string? NotApprovedReason() => Approved ? null
        : $"the fail-over plan of job '{Job}' from {SourceName} is {(Approval is null ? "not approved" : "changed since it was approved")} on this target: "
            + $"review it with 'understudy failover {Job} --show', then approve it with 'understudy failover {Job} --approve'";

    /// <summary>`failover NAME --approve`: approves the plan whose digest the operator was shown.</summary>
    /// <exception cref="JobRequestException">409: the plan changed since it was shown.</exception>
    public void Approve(string digest)
    {
        lock (_lock)
        {
            if (!string.Equals(digest, PlanDigest, StringComparison.OrdinalIgnoreCase))
                throw new JobRequestException($"job '{Job}': the fail-over plan changed since it was shown (its digest is now {PlanDigest[..12]}, not {digest[..Math.Min(12, digest.Length)]}): "
                    + $"review it again with 'understudy failover {Job} --show'", 409);
            if (Approved)
                return;
            var approval = new StoredApproval(PlanDigest, JobSpecJson.Serialize(Spec), _s.Time.GetUtcNow().ToString("O"));
            _held.Write("approval", () => _s.Store.ApproveFailover(SourceId, Job, approval));
            Approval = approval;
            _s.Events.Record(EventCode.PlanApproved, Severity.Info, "failover", Job,
                $"fail-over plan {PlanDigest[..12]} of job '{Job}' from {SourceName} approved by this target's operator"
                + (Settings.Trigger == FailoverTrigger.Automatic ? ": the monitor may now take the identity over by itself" : ": 'understudy failover' may now run it"),
                new { digest = PlanDigest });
            Changed?.Invoke(this);
        }
    }

    /// <summary>The plan as `failover NAME --show` prints it, with what changed since the last approval.</summary>
    public FailoverPlanView Show()
    {
        var now = PlanReview.Describe(Spec, _s.Options);
        IReadOnlyList<string> changes = [];
        lock (_lock)
        {
            if (Approval is { } a && !Approved)
            {
                try
                {
                    changes = PlanReview.Changes(PlanReview.Describe(JobSpecJson.Deserialize(a.SpecJson), _s.Options), now);
                }
                catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
                {
                    changes = ["(the approved plan can no longer be read: review the whole plan)"];
                }
            }
            return new FailoverPlanView(Job, SourceId, SourceName, State.Name(), PlanDigest, Approved, Approval?.Digest, Approval?.At, now,
                changes, TakeoverPlan.Describe(BuildPlan(force: false)));
        }
    }

    /// <summary>Called by the manager when a plan arrives or changes: says on this target that it waits for approval, and what changed.</summary>
    internal void AnnounceIfUnapproved(bool changedSpec)
    {
        if (Approved)
            return;
        if (Approval is null)
        {
            _s.Events.Record(EventCode.PlanAwaitsApproval, Severity.Warning, "failover", Job,
                $"fail-over plan {PlanDigest[..12]} of job '{Job}' from {SourceName} received: nothing runs (no automatic or manual fail-over) until this target's operator "
                + $"approves it: 'understudy failover {Job} --show', then 'understudy failover {Job} --approve'", new { digest = PlanDigest });
            return;
        }
        if (!changedSpec)
            return;
        var changes = Show().Changes;
        _s.Events.Record(EventCode.PlanChanged, Severity.Warning, "failover", Job,
            $"the fail-over plan of job '{Job}' from {SourceName} changed ({string.Join("; ", changes.Take(5))}{(changes.Count > 5 ? $"; {changes.Count - 5} more" : "")}): "
            + $"it needs approval again before anything runs: 'understudy failover {Job} --show', then '--approve'", new { digest = PlanDigest, approved = Approval.Digest, changes });
    }
}
