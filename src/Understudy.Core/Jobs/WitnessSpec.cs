namespace Understudy.Core.Jobs;

/// <summary>
/// <c>failover.witness</c>: an etcd cluster (the Patroni pattern). The source holds a key under
/// <see cref="Prefix"/> with a lease of <see cref="Lease"/>, renewed every <see cref="Renew"/>; the target takes over
/// only when its monitor says the source is lost and it wins the key while it is absent. A source that cannot renew
/// fences itself (drops the identity) before its lease can expire (docs/failover-planning.md, "A witness").
/// </summary>
internal sealed record WitnessSpec
{
    public static readonly TimeSpan DefaultLease = TimeSpan.FromSeconds(10);

    public static readonly TimeSpan DefaultRenew = TimeSpan.FromSeconds(2);

    public const string DefaultPrefix = "/understudy/";

    /// <summary>etcd client URLs, like http://192.0.2.50:2379; the first that answers is used.</summary>
    public ValueList<string> Endpoints { get; init; } = ValueList<string>.Empty;

    /// <summary>The lease's time to live: how long a key outlives its holder's last renewal. Whole seconds (etcd's unit).</summary>
    public TimeSpan Lease { get; init; } = DefaultLease;

    /// <summary>How often the holder renews its lease; also the deadline of each call to etcd.</summary>
    public TimeSpan Renew { get; init; } = DefaultRenew;

    /// <summary>Where the jobs' keys live: PREFIX + JOB (the holder) and PREFIX + JOB + "/failed-over" (the target's mark).</summary>
    public string Prefix { get; init; } = DefaultPrefix;

    /// <summary>
    /// How long before its lease expires (counted from when its last good renewal was sent) a source that cannot renew
    /// fences itself: one renewal interval, which is at most a third of the lease (checked at job apply).
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public TimeSpan FenceAfter => Lease - Renew;
}
