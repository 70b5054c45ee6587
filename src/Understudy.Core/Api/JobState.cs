using System.Text.Json.Serialization;

namespace Understudy.Core.Api;

/// <summary>
/// A source job's state, as `status` shows it (docs/cli.md). Typed like the agent's FailoverState; on the
/// wire each is the word it always was (<see cref="JsonStringEnumMemberNameAttribute"/>, read by the API's
/// <see cref="JsonStringEnumConverter"/>), so the API, the CLI and the console see the same strings as before.
/// </summary>
internal enum JobState
{
    [JsonStringEnumMemberName("connecting")]
    Connecting,

    [JsonStringEnumMemberName("mirroring")]
    Mirroring,

    [JsonStringEnumMemberName("verifying")]
    Verifying,

    [JsonStringEnumMemberName("in-sync")]
    InSync,

    [JsonStringEnumMemberName("replicating")]
    Replicating,

    [JsonStringEnumMemberName("paused")]
    Paused,

    [JsonStringEnumMemberName("stopped")]
    Stopped,

    [JsonStringEnumMemberName("re-mirror-required")]
    RemirrorRequired,

    [JsonStringEnumMemberName("disconnected")]
    Disconnected,

    [JsonStringEnumMemberName("error")]
    Error,

    /// <summary>The target took the job over: no replication until fail-back (the agent's PassiveGuard).</summary>
    [JsonStringEnumMemberName("failed-over (passive)")]
    FailedOverPassive,
}

internal static class JobStates
{
    /// <summary>The word shown in status and the API.</summary>
    public static string Name(this JobState s) => s switch
    {
        JobState.Connecting => "connecting",
        JobState.Mirroring => "mirroring",
        JobState.Verifying => "verifying",
        JobState.InSync => "in-sync",
        JobState.Replicating => "replicating",
        JobState.Paused => "paused",
        JobState.Stopped => "stopped",
        JobState.RemirrorRequired => "re-mirror-required",
        JobState.Disconnected => "disconnected",
        JobState.Error => "error",
        JobState.FailedOverPassive => "failed-over (passive)",
        _ => throw new ArgumentOutOfRangeException(nameof(s), s, null),
    };
}
