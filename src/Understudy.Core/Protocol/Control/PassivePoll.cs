namespace Understudy.Core.Protocol.Control;

/// <summary>"passive-poll": the passive source of <see cref="Job"/> asks about its source root <see cref="Root"/>.</summary>
internal sealed record PassivePollRequest(string Job, int Root, string SourceName);

/// <summary>
/// The target's answer to a poll: <see cref="Action"/> is one of the words below (a string, not an enum, so a word a
/// later version adds is passed over, not a broken reply). <see cref="Conflicts"/>: the job's <c>restore.conflicts</c>
/// word, decided by the target (an operator's `restore --force` turns `manual` into `keep-target`). <see cref="Holds"/>
/// (with "wait"): true when the target holds the source's identity (failed over, restoring, failing back, or taking it
/// again after a restart), false while it is still taking it (failing-over: its duplicate address detection may yet
/// abort); null from an older target. The source stands down from its identity only once the target holds it.
/// </summary>
internal sealed record PassivePollReply(string Action, string? Reason = null, string? Conflicts = null, bool? Holds = null)
{
    /// <summary>Close, poll again later.</summary>
    public const string Wait = "wait";

    /// <summary>The connection is now the root's restore link: the source answers JobOpened and applies.</summary>
    public const string Restore = "restore";

    /// <summary>The job protects again: the source leaves passive mode.</summary>
    public const string Resume = "resume";
}
