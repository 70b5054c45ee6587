using System.Text.Json;

namespace Understudy.Agent.Restore;

/// <summary>
/// The restore link's control words (docs/protocol.md, "Restore and fail-back"). They travel as
/// <c>ControlRequest</c>/<c>ControlReply</c> JSON, so fail-back needs no new frame types: a passive
/// source opens a connection with <see cref="Poll"/> instead of OpenJob, and the target's answer says
/// whether that connection now carries a restore (target → source) or what else the source must do.
/// </summary>
internal static class RestoreVerbs
{
    /// <summary>Source → target, first frame: "I am the passive source of JOB, root N; what now?"</summary>
    public const string Poll = "passive-poll";

    /// <summary>Target → source during a restore: which of the job's identity addresses the source holds.</summary>
    public const string IdentityStatus = "identity-status";

    /// <summary>Target → source at fail-back: add the identity addresses back (after DAD) and announce them.</summary>
    public const string Reclaim = "reclaim";

    /// <summary>Target → source at the end of fail-back: leave passive mode, replicate forward again.</summary>
    public const string Resume = "resume";

    /// <summary>Source → target, one-way, during a restore: a diverged path was parked (or discarded).</summary>
    public const string Conflict = "restore-conflict";
}

/// <summary>What the target tells a polling passive source.</summary>
internal static class PollActions
{
    public const string Wait = "wait";
    public const string Restore = "restore";
    public const string Resume = "resume";
}

internal sealed record PollRequest(string Job, int Root, string SourceName);

/// <summary><see cref="Conflicts"/>: the job's <c>restore.conflicts</c> word, decided by the target (an operator's `restore --force` turns `manual` into `keep-target`).</summary>
internal sealed record PollReply(string Action, string? Reason = null, string? Conflicts = null);

internal sealed record IdentityStatusReply(IReadOnlyList<string> Held);

internal sealed record ReclaimReply(bool Ok, string? Error, IReadOnlyList<string> Added);

internal static class RestoreJson
{
    public static string Write<T>(T value) => JsonSerializer.Serialize(value, JsonSerializerOptions.Web);

    public static T Read<T>(string json) => JsonSerializer.Deserialize<T>(json, JsonSerializerOptions.Web)
        ?? throw new JsonException($"empty {typeof(T).Name}");
}
