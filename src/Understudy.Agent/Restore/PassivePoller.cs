using System.Collections.Concurrent;
using System.Text.Json;
using Understudy.Agent.Common;
using Understudy.Agent.Events;
using Understudy.Agent.Failover;
using Understudy.Agent.Identity;
using Understudy.Agent.Jobs;
using Understudy.Agent.Peer;
using Understudy.Core.Jobs;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;
using Understudy.Core.Protocol.Control;

namespace Understudy.Agent.Restore;

/// <summary>
/// The passive source's side of restore and fail-back (docs/architecture.md, "Restore and fail-back").
/// The target may not know a usable address of the source, and the source must not take its
/// identity back by itself, so the source calls: every <see cref="AgentSettings.PassivePoll"/> it polls the target
/// for each passive job and source root. The answer is "wait", "resume" (fail-back is done), or
/// "restore", and then that connection turns round: the target sends, this agent applies
/// (<see cref="ReverseApplySession"/>) until the target closes it or says "resume".
/// </summary>
/// <paramref name="identity"/> is the host's one <see cref="SourceIdentity"/> (its gate orders a reclaim against the
/// stand-down); <paramref name="held"/> is told when the target first says it holds a job's identity (Failover/SourceDemotion).
internal sealed class PassivePoller(AgentContext ctx, JobManager jobs, ICommandRunner commands, IdentityOptions options,
    Func<Core.Jobs.JobSpec, CancellationToken, Task<string?>>? takeWitnessKey = null, SourceIdentity? identity = null, Action? held = null) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<(string Job, int Root), Task> _links = new();
    private Task _loop = Task.CompletedTask;

    private static string QueuedKey(string job) => "restore-queued/" + job;

    /// <summary>The restore's directory under .understudy-restore (RestoreKeeper), one per restore: kept across reconnects and restarts until fail-back.</summary>
    private static string KeptDirKey(string job) => "restore-kept-dir/" + job;

    public void Start() => _loop = ctx.Loops.Run("passive-poller", null, LoopAsync, _stop.Token);

    /// <summary>False before <see cref="Start"/> and once the poll loop has ended (/metrics shows it).</summary>
    public bool Running => !_loop.IsCompleted;

    private async Task LoopAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(ctx.Settings.PassivePoll, ctx.Time);
        try
        {
            do
            {
                foreach (var runner in jobs.Runners)
                {
                    // A stopped job takes part in nothing, a restore included, until it is started.
                    if (runner.Stopped || PassiveGuard.ReasonFor(ctx, runner.Job.Name) is null)
                        continue;
                    for (int i = 0; i < runner.Job.Roots.Count; i++)
                    {
                        var key = (runner.Job.Name, i);
                        if (_links.TryGetValue(key, out var t) && !t.IsCompleted)
                            continue;
                        _links[key] = PollAsync(runner, i, ct);
                    }
                }
            }
            while (await timer.WaitForNextTickAsync(ct));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task PollAsync(JobRunner runner, int root, CancellationToken ct)
    {
        var job = runner.Job;
        try
        {
            PeerConnection conn;
            using (var connect = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                connect.CancelAfter(TimeSpan.FromSeconds(10));
                conn = await PeerLink.ConnectAsync(job.TargetAddress, job.TargetId, ctx.Identity, ctx.AgentName, PeerHeartbeat.For(ctx), connect.Token);
                conn.Job = job.Name;
            }
            await using (conn)
            {
                await conn.SendAsync(ControlVerbs.PassivePoll.Request(new PassivePollRequest(job.Name, root, ctx.AgentName)), ct);
                using var frame = await conn.ReceiveAsync(ct);
                if (frame?.Message is not ControlReply reply)
                    return;
                var answer = ControlVerbs.PassivePoll.ReadReply(reply);
                // A restore, or a wait while the target holds the identity (not while it is still taking it): stand down.
                bool fence = PassiveGuard.IsFence(ctx, job.Name);
                if ((answer.Action == PassivePollReply.Restore || answer is { Action: PassivePollReply.Wait, Holds: true }) && PassiveGuard.MarkHeld(ctx, job.Name))
                {
                    held?.Invoke();
                    if (fence)
                        ctx.Events.Record(EventCode.SourceFenceConfirmed, Severity.Warning, "failover", job.Name,
                            "the target says it holds this job's identity: it was failed over while this agent was away; this source stays stood down and passive until fail-back");
                }
                switch (answer.Action)
                {
                    case PassivePollReply.Resume:
                        await ResumeAsync(runner, ct);
                        break;
                    case PassivePollReply.Restore:
                        await RestoreAsync(conn, runner, root, answer, ct);
                        break;
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // The target is unreachable or the link broke: the next poll tries again.
        }
    }

    private async Task RestoreAsync(PeerConnection conn, JobRunner runner, int root, PassivePollReply answer, CancellationToken ct)
    {
        var job = runner.Job;
        var spec = jobs.GetSpec(job.Name).Spec;
        var queued = QueuedSnapshot(runner)[root];
        var policy = ConflictPolicyFor(job.Name, spec.Restore.Conflicts, answer.Conflicts);
        using var tree = FsTree.Open(job.Roots[root].Path, create: false);
        await conn.SendAsync(new JobOpened(job.Name, 0, FsTree.IsRoot), ct);
        var parker = new ConflictParker(tree, root, queued, policy, ctx.AgentName, ctx.Time, r =>
        {
            ctx.Events.Record(EventCode.RestoreConflict, Severity.Warning, "restore", job.Name, r.ParkedAs is null
                ? $"conflict: {r.Path} changed here before the fail-over and on the target since; the target's version wins, this one was discarded (restore.conflicts: discard-source)"
                : $"conflict: {r.Path} changed here before the fail-over and on the target since; the target's version wins, this one is kept as {r.ParkedAs}",
                new { path = r.Path, parkedAs = r.ParkedAs, root = r.Root });
        });
        var reclaim = new SourceReclaim(ctx, commands, options, takeWitnessKey, identity);
        // The source's own restore.replaced decides (like its conflict policy): the target's copy of the job has no say.
        var keeper = spec.Restore.Replaced == ReplacedPolicy.Keep ? new RestoreKeeper(tree, KeptDir(job.Name)) : null;
        bool resumed;
        try
        {
            resumed = await new ReverseApplySession(conn, job.Name, tree, parker, keeper, ctx.Events, async (request, token) => request switch
            {
                _ when ControlVerbs.IdentityStatus.Is(request) => ControlVerbs.IdentityStatus.Reply(new IdentityStatusReply(await reclaim.HeldAsync(spec, token))),
                _ when ControlVerbs.Reclaim.Is(request) => await ReclaimReplyAsync(reclaim, spec, token),
                _ when ControlVerbs.Resume.Is(request) => await ResumeReplyAsync(runner, token),
                _ => ControlVerbs.Unknown(request),
            }).RunAsync(ct);
        }
        finally
        {
            if (keeper is not null)
                RecordKept(job.Name, job.Roots[root].Path, keeper);
        }
        if (resumed)
            ctx.Events.Record(EventCode.FailbackHandedBack, Severity.Info, "failback", job.Name, "the target handed the job back: this agent is the source again");
    }

    /// <summary>
    /// The source's consent (issue 19, item 4): the source's own <c>restore.conflicts</c> decides what happens to its
    /// diverged files, not the target's copy of the job. The one word the target may add is its operator's
    /// `restore --force`, which turns this job's <c>manual</c> into <c>keep-target</c>: that parks the source's versions and
    /// loses nothing. Anything else the target asks for (above all <c>discard-source</c>) is refused and logged here.
    /// </summary>
    private ConflictPolicy ConflictPolicyFor(string job, ConflictPolicy own, string? asked)
    {
        if (asked is null || !JobEnum<ConflictPolicy>.TryParse(asked, out var theirs) || theirs == own)
            return own;
        if (own == ConflictPolicy.Manual && theirs == ConflictPolicy.KeepTarget)
            return theirs;
        ctx.Events.Record(EventCode.RestorePolicyKept, Severity.Warning, "restore", job,
            $"the target asked for restore.conflicts: {asked}; this job says {JobEnum<ConflictPolicy>.Name(own)}, which applies: diverged files here are handled as this agent's job says",
            new { asked, applied = JobEnum<ConflictPolicy>.Name(own) });
        return own;
    }

    private string KeptDir(string job)
    {
        lock (_links)
        {
            if (ctx.Store.GetValue(KeptDirKey(job)) is { Length: > 0 } stored)
                return stored;
            var name = RestoreKeeper.DirName(ctx.AgentName, ctx.Time.GetUtcNow());
            ctx.Store.SetValue(KeptDirKey(job), name);
            return name;
        }
    }

    /// <summary>One event per restore session on this source that kept anything (not one per file).</summary>
    private void RecordKept(string job, string rootPath, RestoreKeeper k)
    {
        if (k.Replaced + k.Removed + k.NotKept == 0)
            return;
        var where = Path.Combine(rootPath, k.Dir);
        var message = $"restore kept {k.Replaced} replaced and {k.Removed} removed entries under {where} (restore.replaced: keep; delete it once you no longer need them)"
            + (k.NotKept > 0 ? $"; {k.NotKept} could not be kept and are gone (first: {k.FirstNotKept})" : "");
        ctx.Events.Record(EventCode.RestoreKept, k.NotKept > 0 ? Severity.Warning : Severity.Info, "restore", job, message,
            new { replaced = k.Replaced, removed = k.Removed, notKept = k.NotKept, dir = where });
    }

    private static async Task<ControlReply> ReclaimReplyAsync(SourceReclaim reclaim, JobSpec spec, CancellationToken ct)
    {
        var r = await reclaim.ReclaimAsync(spec, ct);
        return ControlVerbs.Reclaim.Reply(r, r.Ok);
    }

    private async Task<ControlReply> ResumeReplyAsync(JobRunner runner, CancellationToken ct)
    {
        await ResumeAsync(runner, ct);
        return ControlVerbs.Resume.Reply(new ResumeReply());
    }

    private async Task ResumeAsync(JobRunner runner, CancellationToken ct)
    {
        if (PassiveGuard.ReasonFor(ctx, runner.Job.Name) is null)
            return;
        bool fence = PassiveGuard.IsFence(ctx, runner.Job.Name);
        if (PassiveGuard.MustStandDown(ctx, runner.Job.Name))
            await RetakeAsync(runner.Job.Name, ct);
        PassiveGuard.Clear(ctx, runner.Job.Name);
        ctx.Store.SetValue(QueuedKey(runner.Job.Name), "null");
        ctx.Store.SetValue(KeptDirKey(runner.Job.Name), ""); // the next restore keeps under a directory of its own
        if (fence)
            ctx.Events.Record(EventCode.SourceFenceLifted, Severity.Info, "failover", runner.Job.Name,
                "the target does not hold this job's identity and did not fail it over: the fence this agent put up at start is lifted; it protects the job again");
        else
            ctx.Events.Record(EventCode.FailbackSourceResumed, Severity.Info, "failback", runner.Job.Name, "fail-back complete: no longer passive; forward replication resumes");
        runner.ResumeAfterFailback();
    }

    /// <summary>
    /// "Resume" without a fail-back's reclaim: the target does not hold the identity (a take-over that was undone, or a
    /// plan it no longer has), and this source stood down from it (Failover/SourceDemotion). It takes it back, duplicate
    /// address detection first, before it replicates again: otherwise nobody would serve it.
    /// </summary>
    private async Task RetakeAsync(string job, CancellationToken ct)
    {
        if (jobs.FindSpec(job) is not { Failover: not null } spec)
            return; // removed meanwhile, or no fail-over
        var r = await new SourceReclaim(ctx, commands, options, takeWitnessKey, identity).ReclaimAsync(spec, ct);
        if (r.Ok)
            ctx.Events.Record(EventCode.SourceIdentityRetaken, Severity.Info, "failover", job,
                $"the target does not hold this job's identity (it says resume without a fail-back): this source serves it again{(r.Added.Count > 0 ? $" ({string.Join(", ", r.Added)})" : "")}");
        else
            ctx.Events.Record(EventCode.SourceIdentityNotRetaken, Severity.Error, "failover", job,
                $"the target does not hold this job's identity, but this source could not take it back: {r.Error}; replication resumes; find who holds the "
                + "service address, and add it here by hand once it is free");
    }

    /// <summary>The queued paths as they were when the restore began (kept across restarts: the restore's own writes are queued too).</summary>
    private IReadOnlySet<RelPath>[] QueuedSnapshot(JobRunner runner)
    {
        lock (_links)
        {
            var key = QueuedKey(runner.Job.Name);
            if (ctx.Store.GetValue(key) is { } json && JsonSerializer.Deserialize<string[][]>(json) is { } stored && stored.Length == runner.Job.Roots.Count)
                return [.. stored.Select(r => (IReadOnlySet<RelPath>)r.Select(b => RelPath.Parse(Convert.FromBase64String(b))).ToHashSet())];
            var sets = runner.QueuedPaths();
            ctx.Store.SetValue(key, JsonSerializer.Serialize(sets.Select(s => s.Select(p => Convert.ToBase64String(p.Bytes)).ToArray()).ToArray()));
            if (sets.Sum(s => s.Count) is > 0 and var n)
                ctx.Events.Record(EventCode.RestoreBegins, Severity.Info, "restore", runner.Job.Name, $"restore begins: {n} paths changed here and never reached the target; each one the restore replaces is a conflict");
            return sets;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        foreach (var t in _links.Values)
            await t;
        _stop.Dispose();
    }
}
