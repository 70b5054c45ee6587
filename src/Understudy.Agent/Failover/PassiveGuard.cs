using System.Text.Json;
using Understudy.Agent.Common;
using Understudy.Agent.Events;
using Understudy.Agent.Source;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Failover;

/// <summary>
/// The source side of the split-brain guard (docs/architecture.md, "Fail-over"): once the target
/// says a job was failed over (OpenJob refused with <see cref="ErrorCode.Passive"/>), the source
/// writes that down in its own state and stays passive for the job — no mirror, no replication, not
/// even a connection attempt — across restarts, until fail-back clears it (<see cref="Clear"/>).
/// JobRunner calls <see cref="ThrowIfPassive"/> before it connects and <see cref="Observe"/> on a failure.
/// </summary>
internal static class PassiveGuard
{
    /// <summary>The job state shown in `understudy status`.</summary>
    public const JobState State = JobState.FailedOverPassive;

    private static string Key(string job) => "passive/" + job;

    /// <summary>
    /// <see cref="Held"/>: the target said it holds the identity (not only that it is taking it: a take-over may still be
    /// aborted by its duplicate address detection). <see cref="Reclaimed"/>: fail-back gave this source its identity
    /// back, and the target's "resume" is still to come. <see cref="Fenced"/>: a returning source made itself passive at
    /// start, unsure whether the target took over while it was away (<see cref="Fence"/>); the target never said so.
    /// </summary>
    private sealed record Mark(string Reason, string Since, bool Reclaimed = false, bool Held = false, bool Fenced = false);

    private static Mark? Read(AgentContext ctx, string job) => Read(ctx.Store, job);

    private static Mark? Read(State.StateStore store, string job) => store.GetValue(Key(job)) is { } json ? JsonSerializer.Deserialize<Mark>(json) : null;

    /// <summary>Null, or why the job is passive.</summary>
    public static string? ReasonFor(AgentContext ctx, string job) => ReasonFor(ctx.Store, job);

    /// <inheritdoc cref="ReasonFor(AgentContext, string)"/>
    public static string? ReasonFor(State.StateStore store, string job) => Read(store, job)?.Reason;

    /// <summary>
    /// True while passive, the target holds the identity (<see cref="MarkHeld"/>) and it is not this source's again: it
    /// must not serve it (Failover/SourceDemotion). False once fail-back's reclaim gave it back (<see cref="MarkReclaimed"/>),
    /// though the job stays passive until "resume".
    /// </summary>
    public static bool MustStandDown(AgentContext ctx, string job) => MustStandDown(ctx.Store, job);

    /// <inheritdoc cref="MustStandDown(AgentContext, string)"/>
    public static bool MustStandDown(State.StateStore store, string job) => Read(store, job) is { Held: true, Reclaimed: false };

    /// <summary>
    /// The target holds the identity (its passive-poll answer): true the first time, when the source must now stand down,
    /// or when it confirms a fence (which is from then on an ordinary passive job, ended by fail-back).
    /// </summary>
    public static bool MarkHeld(AgentContext ctx, string job)
    {
        if (Read(ctx, job) is not { } m || (m.Held && !m.Fenced))
            return false;
        ctx.Store.SetValue(Key(job), JsonSerializer.Serialize(m with { Held = true, Fenced = false }));
        return true;
    }

    /// <summary>Fail-back's reclaim succeeded on this passive source: its identity is its own again (no-op when not passive).</summary>
    public static void MarkReclaimed(AgentContext ctx, string job)
    {
        if (Read(ctx, job) is { Reclaimed: false } m)
            ctx.Store.SetValue(Key(job), JsonSerializer.Serialize(m with { Reclaimed = true }));
    }

    /// <summary>True once fail-back's reclaim gave this passive source its identity back (<see cref="MarkReclaimed"/>).</summary>
    public static bool IsReclaimed(State.StateStore store, string job) => Read(store, job) is { Reclaimed: true };

    /// <summary>
    /// A returning source's fence (Failover/SourceDemotion.Fence.cs): passive and stood down as if the target held the
    /// identity, until the target's passive-poll answer says otherwise ("resume": the fence is lifted and the identity
    /// taken back) or confirms it. A job passive already keeps its reason and is only made to stand down.
    /// </summary>
    public static void Fence(State.StateStore store, string job, string reason, DateTimeOffset now)
    {
        var m = Read(store, job) ?? new Mark(reason, now.ToString("O"), Fenced: true);
        store.SetValue(Key(job), JsonSerializer.Serialize(m with { Held = true, Reclaimed = false }));
    }

    /// <summary>True while the job is passive by this source's own fence at start, not by the target's word.</summary>
    public static bool IsFence(AgentContext ctx, string job) => IsFence(ctx.Store, job);

    /// <inheritdoc cref="IsFence(AgentContext, string)"/>
    public static bool IsFence(State.StateStore store, string job) => Read(store, job) is { Fenced: true };

    /// <exception cref="TargetException">Code Passive: the job is passive on this source.</exception>
    public static void ThrowIfPassive(AgentContext ctx, string job)
    {
        if (ReasonFor(ctx, job) is { } reason)
            throw new TargetException(ErrorCode.Passive, reason);
    }

    /// <summary>True when <paramref name="e"/> means the job is (now) passive; records it and an event the first time.</summary>
    public static bool Observe(Exception e, AgentContext ctx, string job)
    {
        if (e is not TargetException { Code: ErrorCode.Passive } t)
            return false;
        if (ReasonFor(ctx, job) is null)
        {
            ctx.Store.SetValue(Key(job), JsonSerializer.Serialize(new Mark(t.Message, ctx.Time.GetUtcNow().ToString("O"))));
            ctx.Events.Record(EventCode.SourcePassive, Severity.Error, "failover", job,
                $"the target took over this job's identity: staying passive (no replication) until fail-back. Target said: {t.Message}");
        }
        return true;
    }

    /// <summary>For fail-back (issue 5): the source may replicate again.</summary>
    public static void Clear(AgentContext ctx, string job) => ctx.Store.SetValue(Key(job), "null");
}
