namespace Understudy.Bench.Failover;

/// <summary>
/// One measured fail-over, all times in seconds from the moment the source's link was cut.
/// <see cref="Decision"/>: Understudy's "fail-over triggered" event, or for keepalived the moment
/// the address appeared on the backup (keepalived adds it as it enters MASTER, within ms).
/// <see cref="BaselineRead"/>: one smbclient read before the cut (median of 3), not from the cut.
/// </summary>
internal sealed record RunResult(
    string Subject, int Run, bool Ok, string? Error,
    double Decision, double AddressOnTarget, double FirstRead, int ReadAttempts, double? AgentTakeover, double BaselineRead)
{
    /// <summary>Detection: cut → the target decides.</summary>
    public double Detection => Decision;

    /// <summary>Take-over: decision → the client's first good read.</summary>
    public double Takeover => FirstRead - Decision;

    public static RunResult Failed(string subject, int run, string error) => new(subject, run, false, error, 0, 0, 0, 0, null, 0);
}
