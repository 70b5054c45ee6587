using Understudy.Agent.Events;
using Understudy.Core.Api;

namespace Understudy.Agent.Notify;

internal sealed partial class Notifier
{
    /// <summary>How long a pending fail-over seen without its 612 event (the agent restarted while it waited) is given
    /// before it is announced: the event and the state change are not one step, so a tick between them must not
    /// announce it twice.</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(2);

    private sealed class Track(DateTimeOffset firstSeen)
    {
        public DateTimeOffset FirstSeen { get; } = firstSeen;

        public DateTimeOffset? LastSent { get; set; }
    }

    // By job name: the 612 event names the job, not the source.
    private readonly Dictionary<string, Track> _tracks = new(StringComparer.Ordinal);

    /// <summary>The event itself went out (FollowAsync): the next reminder is one repeat from now.</summary>
    private void MarkAnnounced(string job)
    {
        var now = time.GetUtcNow();
        lock (_tracks)
        {
            if (!_tracks.TryGetValue(job, out var t))
                _tracks[job] = t = new Track(now);
            t.LastSent = now;
        }
    }

    /// <summary>Once a second: every fail-over still pending whose last announcement is a repeat old is announced again;
    /// one that is no longer pending (confirmed, dismissed, the source back) is forgotten.</summary>
    private async Task RemindAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                try
                {
                    RemindOnce();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // One bad round must not end the reminders for good: the next tick tries again.
                    events.Record(EventCode.NotifyFailed, Severity.Error, "notify", null, $"pending fail-over reminders: a round failed ({e.GetType().Name}: {e.Message})");
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private void RemindOnce()
    {
        var now = time.GetUtcNow();
        var repeat = Settings.PendingRepeat;
        var list = pending();
        var due = new List<(PendingFailover P, TimeSpan For)>();
        lock (_tracks)
        {
            foreach (var p in list)
            {
                if (!_tracks.TryGetValue(p.Job, out var t))
                    _tracks[p.Job] = t = new Track(now);
                var next = t.LastSent is { } last ? last + repeat : t.FirstSeen + Grace;
                if (now >= next)
                {
                    t.LastSent = now;
                    due.Add((p, now - t.FirstSeen));
                }
            }
            // Kept a little while after it leaves the list: the 612 event may come just before the state shows pending.
            foreach (var job in _tracks.Where(kv => list.All(p => p.Job != kv.Key) && now - (kv.Value.LastSent ?? kv.Value.FirstSeen) > Grace * 2)
                .Select(kv => kv.Key).ToList())
                _tracks.Remove(job);
        }
        foreach (var (p, waited) in due)
        {
            var message = $"fail-over of job {p.Job} still waits for an operator ({Minutes(waited)}): source {p.SourceName} is gone"
                + (p.Reason is null ? "" : $" ({p.Reason})") + $"; run 'understudy failover {p.Job}' on this agent, or 'understudy failover {p.Job} --dismiss'";
            Send(new NotifyEvent(NotifyEvent.KindReminder,
                new ApiEvent(0, now.ToString("O"), Severity.Error, "failover", p.Job, message, null, (int)EventCode.FailoverPending, nameof(EventCode.FailoverPending))));
        }
    }

    private static string Minutes(TimeSpan t) => t < TimeSpan.FromMinutes(1) ? $"{t.TotalSeconds:0} s" : $"{t.TotalMinutes:0} min";
}
