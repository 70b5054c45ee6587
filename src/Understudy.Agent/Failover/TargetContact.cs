using System.Globalization;
using Understudy.Agent.Common;
using Understudy.Agent.Jobs;
using Understudy.Core.Jobs;

namespace Understudy.Agent.Failover;

/// <summary>
/// When this source last heard from each job's target, kept across its own restarts (<c>kv target-contact/JOB</c>), so
/// that a returning source can tell whether the target may have failed the job over while it was away
/// (<see cref="MayHaveTakenOver"/>, issue 20, item 4). The time is that of the last whole frame on the job's open
/// session (an acknowledgement, a heartbeat: <see cref="Peer.PeerConnection.SinceLastFrame"/>), written at most once a
/// <see cref="WriteEvery"/> per job, never per frame, and once more as the agent stops. What is stored is never later
/// than the truth: a crash loses at most one interval, which only makes a fence likelier.
/// </summary>
internal sealed class TargetContact(AgentContext ctx, JobManager jobs) : IAsyncDisposable
{
    public static readonly TimeSpan WriteEvery = TimeSpan.FromSeconds(1);

    /// <summary>A contact that moved by less is not written again (the same frame, seen from a later pass).</summary>
    private static readonly TimeSpan Moved = TimeSpan.FromMilliseconds(100);

    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<string, DateTimeOffset> _written = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private Task _loop = Task.CompletedTask;

    private static string Key(string job) => "target-contact/" + job;

    public static DateTimeOffset? Read(State.StateStore store, string job) =>
        store.GetValue(Key(job)) is { } v && DateTimeOffset.TryParse(v.Trim('"'), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var t) ? t : null;

    /// <summary>A removed job's contact goes with it.</summary>
    public static void Forget(AgentContext ctx, string job) => ctx.Store.SetValue(Key(job), "null");

    /// <summary>
    /// The earliest the target can fail a job over after it last heard of the source: its monitor counts a miss per
    /// round, and the first failed round may come at once, so <c>(misses − 1) × interval</c> (at least one interval).
    /// The target's monitor loses the source no sooner than the source last heard from the target (it stopped, or its
    /// link went), so a source back within this time cannot find the job taken over.
    /// </summary>
    public static TimeSpan SafeAbsence(MonitorSpec m) => m.Interval * Math.Max(1, m.Misses - 1);

    /// <summary>
    /// Why the target may have taken <paramref name="spec"/> over while this agent was away, or null when it cannot
    /// have: the job passive and not given back by a fail-back (the target said it was taking over), no contact on
    /// record, or the last contact at least <see cref="SafeAbsence"/> ago.
    /// </summary>
    public static string? MayHaveTakenOver(State.StateStore store, JobSpec spec, DateTimeOffset now)
    {
        if (spec.Failover is not { } f)
            return null;
        if (PassiveGuard.ReasonFor(store, spec.Name) is { } passive)
            return PassiveGuard.IsReclaimed(store, spec.Name) ? null : $"the job was passive when this agent stopped ({passive})";
        if (Read(store, spec.Name) is not { } heard)
            return "this agent has no record of hearing from the target";
        var away = now - heard;
        var safe = SafeAbsence(f.Monitor);
        return away < safe ? null
            : $"it last heard from the target {away.TotalSeconds:0.0} s ago, and the target may fail the job over {safe.TotalSeconds:0.0} s after it loses this source "
                + $"(failover.monitor: {f.Monitor.Misses} misses of {f.Monitor.Interval.TotalSeconds:0.###} s)";
    }

    public void Start() => _loop = ctx.Loops.Run("target-contact", null, LoopAsync, _stop.Token);

    private async Task LoopAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(WriteEvery, ctx.Time);
        try
        {
            do
                Save();
            while (await timer.WaitForNextTickAsync(ct));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Writes each job's last contact that moved on since it was last written. With <paramref name="stopping"/> (a clean
    /// stop) a session whose target heartbeat is on schedule counts as contact now: this host is up, its identity still
    /// served, its link alive; on an idle link the last frame may be a whole heartbeat interval old (5 s by default),
    /// more than a default monitor's safe absence, and a restart (a package upgrade) would fence for nothing.
    /// </summary>
    public void Save(bool stopping = false)
    {
        var now = ctx.Time.GetUtcNow();
        lock (_lock)
        {
            foreach (var runner in jobs.Runners)
            {
                if (runner.TargetSilentFor is not { } silent)
                    continue;
                var at = stopping && runner.TargetOnSchedule ? now : now - silent;
                if (_written.TryGetValue(runner.Job.Name, out var last) && at - last < Moved)
                    continue;
                ctx.Store.SetValue(Key(runner.Job.Name), at.ToString("O", CultureInfo.InvariantCulture));
                _written[runner.Job.Name] = at;
            }
        }
    }

    /// <summary>Stops the loop and writes once more: a clean stop (a package upgrade) leaves the freshest contact.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        Save(stopping: true);
        _stop.Dispose();
    }
}
