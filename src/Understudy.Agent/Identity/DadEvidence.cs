namespace Understudy.Agent.Identity;

/// <summary>
/// What a take-over's address step may already know about its address: duplicate address detection run early, while
/// the source was suspect (Failover/SuspectProbing.cs). Null: nothing was probed early (an IPv6 or forced address, no
/// suspect phase, an agent restarted mid-take-over); the step then probes as it always did.
/// </summary>
internal interface IEarlyDad
{
    EarlyVerdict? Verdict(InterfaceAddress address);
}

/// <summary><see cref="KnownFree"/>: taken without a fresh wait; otherwise <see cref="Detail"/> says why a full detection runs.</summary>
internal sealed record EarlyVerdict(bool KnownFree, string Detail, int Rounds = 0, double? WindowMs = null, double? AgeMs = null);

/// <summary>
/// The record of one address probed round after round (RFC 5227 probes, <see cref="ArpProbe"/>'s 2 probes and 400 ms
/// of listening each) while the source is suspect, and the rule that turns it into a verdict. Pure: the caller passes
/// the times, so the rule is tested with a fake clock. Not thread-safe: the owner locks.
/// </summary>
/// <remarks>
/// The rule is the guard's own, moved earlier: an address is known free only if no answer came at all since probing
/// began, and the last complete round with no answer ended at most <c>freshness</c> before the question — so the
/// evidence is as recent as a detection the take-over would run itself (its 400 ms end a few milliseconds before the
/// address is added), and a round is listening at that moment. An answer is kept for the whole suspect phase: an
/// address that answered once is never taken on early evidence, even after it went quiet.
/// </remarks>
internal sealed class DadEvidence
{
    /// <summary>One round: <see cref="ArpProbe"/>'s default 2 probes and 400 ms of listening.</summary>
    public static readonly TimeSpan Round = TimeSpan.FromMilliseconds(400);

    /// <summary>
    /// How recent the last round without an answer must be: one round in progress and one of slack for a loaded
    /// machine. A prober slower than that (starved, stalled) gives no verdict, and the take-over probes itself.
    /// </summary>
    public static readonly TimeSpan Freshness = 2 * Round;

    /// <summary>Start of the first round of the current unbroken run of rounds without an answer.</summary>
    public DateTimeOffset? CleanSince { get; private set; }

    /// <summary>End of the last round without an answer.</summary>
    public DateTimeOffset? LastCleanEnd { get; private set; }

    public int CleanRounds { get; private set; }

    /// <summary>When another host first answered for the address; kept until probing begins afresh.</summary>
    public DateTimeOffset? AnsweredAt { get; private set; }

    /// <summary>Why the last round could not be sent (no CAP_NET_RAW, the interface gone); null after a complete round.</summary>
    public string? Failure { get; private set; }

    /// <summary>A round from <paramref name="started"/> to <paramref name="ended"/> drew no answer.</summary>
    public void Clean(DateTimeOffset started, DateTimeOffset ended, TimeSpan freshness)
    {
        // A gap longer than the freshness window (the loop stalled) starts a new run: nobody listened in the gap.
        if (LastCleanEnd is not { } last || started - last > freshness || started < last)
        {
            CleanSince = started;
            CleanRounds = 0;
        }
        LastCleanEnd = ended;
        CleanRounds++;
        Failure = null;
    }

    /// <summary>Another host answered for the address (or sent any ARP packet from it).</summary>
    public void Answered(DateTimeOffset at) => AnsweredAt ??= at;

    /// <summary>A round could not be sent: what came before is no longer known to be recent.</summary>
    public void Failed(string why)
    {
        Failure = why;
        CleanSince = null;
        LastCleanEnd = null;
        CleanRounds = 0;
    }

    public EarlyVerdict Judge(DateTimeOffset now, TimeSpan freshness)
    {
        if (AnsweredAt is { } answered)
            return new EarlyVerdict(false, $"it answered an ARP probe {Ms(now - answered):0} ms ago, while the source was suspect");
        if (LastCleanEnd is not { } last || CleanSince is not { } since)
            return new EarlyVerdict(false, Failure is { } f ? $"the early probes could not be sent ({f})" : "no round of early probes had completed");
        var age = now - last;
        // A clock that went back leaves the order of events unknown: not evidence.
        if (age < TimeSpan.Zero || age > freshness)
            return new EarlyVerdict(false, $"the last round of early probes ended {Ms(age):0} ms ago, not within {Ms(freshness):0} ms", CleanRounds, Ms(last - since), Ms(age));
        return new EarlyVerdict(true, $"{CleanRounds} round(s) of ARP probes over {Ms(last - since):0} ms drew no answer, the last ended {Ms(age):0} ms ago",
            CleanRounds, Ms(last - since), Ms(age));
    }

    private static double Ms(TimeSpan t) => Math.Round(t.TotalMilliseconds);
}
