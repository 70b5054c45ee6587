using System.Text.Json.Serialization;

namespace Understudy.Agent.Failover;

/// <summary>
/// A hosted job's fail-over state machine on the target (docs/architecture.md, "Fail-over"):
/// protecting → suspect → (pending) → failing-over → failed-over → restoring → failing-back → protecting.
/// Restoring and failing-back belong to fail-back (issue 5); the monitor leaves them alone.
/// </summary>
internal enum FailoverState
{
    [JsonStringEnumMemberName("protecting")]
    Protecting,

    [JsonStringEnumMemberName("suspect")]
    Suspect,

    [JsonStringEnumMemberName("fail-over-pending")]
    Pending,

    [JsonStringEnumMemberName("failing-over")]
    FailingOver,

    [JsonStringEnumMemberName("failed-over")]
    FailedOver,

    [JsonStringEnumMemberName("restoring")]
    Restoring,

    [JsonStringEnumMemberName("failing-back")]
    FailingBack,
}

internal static class FailoverStates
{
    /// <summary>The word shown in status, events and the state store.</summary>
    public static string Name(this FailoverState s) => s switch
    {
        FailoverState.Protecting => "protecting",
        FailoverState.Suspect => "suspect",
        FailoverState.Pending => "fail-over-pending",
        FailoverState.FailingOver => "failing-over",
        FailoverState.FailedOver => "failed-over",
        FailoverState.Restoring => "restoring",
        FailoverState.FailingBack => "failing-back",
        _ => throw new ArgumentOutOfRangeException(nameof(s), s, null),
    };

    public static FailoverState Parse(string name) =>
        Enum.GetValues<FailoverState>().FirstOrDefault(s => s.Name() == name, FailoverState.Protecting);

    /// <summary>True while the target holds (or is taking or giving back) the source's identity: replication from the source is refused.</summary>
    public static bool HoldsIdentity(this FailoverState s) =>
        s is FailoverState.FailingOver or FailoverState.FailedOver or FailoverState.Restoring or FailoverState.FailingBack;

    /// <summary>True while the monitor's observations may move the state.</summary>
    public static bool IsMonitored(this FailoverState s) =>
        s is FailoverState.Protecting or FailoverState.Suspect or FailoverState.Pending;
}
