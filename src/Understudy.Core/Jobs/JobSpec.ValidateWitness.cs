namespace Understudy.Core.Jobs;

internal sealed partial record JobSpec
{
    /// <summary>
    /// The witness's timing rules (docs/job-file.md, "failover.witness"). The lease is the safety margin: a source that
    /// cannot renew fences itself <see cref="WitnessSpec.FenceAfter"/> after its last good renewal, before etcd can let
    /// the key go, so renewals must come well inside it; and the lease must not dwarf the monitor's detection time, or the
    /// witness, not the monitor, sets how long a real outage lasts.
    /// </summary>
    private static void ValidateWitness(WitnessSpec w, MonitorSpec m)
    {
        const string k = "failover.witness";
        for (int i = 0; i < w.Endpoints.Count; i++)
        {
            var e = w.Endpoints[i];
            if (!Uri.TryCreate(e, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.UserInfo.Length > 0)
                Fail($"{k}.endpoints[{i}]", $"expected an etcd client URL like http://192.0.2.50:2379 (http or https, no path), got '{e}'");
        }
        if (w.Endpoints.Distinct(StringComparer.OrdinalIgnoreCase).Count() != w.Endpoints.Count)
            Fail(k + ".endpoints", "an endpoint is listed twice");
        CheckRange(w.Lease, TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(10), k + ".lease");
        if (w.Lease.Ticks % TimeSpan.TicksPerSecond != 0)
            Fail(k + ".lease", $"must be whole seconds (etcd leases count in seconds), got {JobValues.FormatDuration(w.Lease)}");
        CheckRange(w.Renew, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(3), k + ".renew");
        if (w.Renew * 3 > w.Lease)
            Fail(k + ".renew", $"must be at most a third of the lease ({JobValues.FormatDuration(w.Lease)}), got {JobValues.FormatDuration(w.Renew)}: "
                + "the source renews that often and fences itself one renewal before its lease could expire, so it needs two more tries inside the lease");
        // The monitor counts interval × misses before the source is lost; the key is free at most a lease after the
        // source's last renewal. A lease longer than four detection times makes the witness the slow part of every fail-over.
        var detection = m.Interval * m.Misses;
        if (w.Lease > detection * 4)
            Fail(k + ".lease", $"is {JobValues.FormatDuration(w.Lease)}, more than four times the monitor's detection time (interval × misses = {JobValues.FormatDuration(detection)}): "
                + "a fail-over would wait for the lease, not the monitor; shorten the lease or lengthen the interval or misses");
        if (w.Prefix.Length is 0 or > 200 || w.Prefix[0] != '/' || w.Prefix[^1] != '/' || w.Prefix.Any(char.IsControl))
            Fail(k + ".prefix", $"expected a key prefix that starts and ends with '/', like /understudy/, got '{w.Prefix}'");
    }
}
