using Understudy.Core.Jobs;

namespace Understudy.Agent.Witness;

/// <summary>
/// One job's key in the witness: <c>PREFIX + SOURCE-ID + "/" + JOB</c>, so two sources with the same job name never
/// share one. Its value says who holds it: <c>source ID</c> (with the source's lease: it serves) or <c>target ID</c>
/// (no lease: the target took the identity over and keeps the key until fail-back releases it, so a source that comes
/// back can never take the key, and with it the identity, while the target serves).
/// </summary>
internal sealed record WitnessKey(WitnessSpec Spec, string SourceId, string Job)
{
    public string Key => Spec.Prefix + SourceId + "/" + Job;

    public string SourceValue => "source " + SourceId;

    public static string TargetValue(string targetId) => "target " + targetId;

    public EtcdClient Client() => new(Spec.Endpoints, Spec.Renew);

    /// <summary>How status and events name a holder's value.</summary>
    public static string Describe(string? value) => value switch
    {
        null => "nobody",
        var v when v.StartsWith("source ", StringComparison.Ordinal) => "the source",
        var v when v.StartsWith("target ", StringComparison.Ordinal) => "the target",
        var v => $"'{v}'",
    };
}
