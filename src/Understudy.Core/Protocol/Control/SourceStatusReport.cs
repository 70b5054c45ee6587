namespace Understudy.Core.Protocol.Control;

/// <summary>
/// "source-status": what the source has queued and the target has not acknowledged (<see cref="Ops"/> as status's
/// opsPending, <see cref="Bytes"/> of queue records, the oldest record's age, 0 when none; <see cref="RemirrorRequired"/>:
/// past the queue limit, later changes were not queued). The target keeps the last one to say, at fail-over, what was lost.
/// </summary>
/// <param name="MirrorPending">A mirror is under way or due (the first, or a catch-up after lost events): the replica
/// may lack changes of any age until it completes, which no queue age tells. An older source leaves it out (false).</param>
/// <param name="OldestPendingAt">The same oldest change (nothing pending: now), dated by the source's clock: the target takes
/// the earlier of it and its arrival minus the age, since a report can wait behind data on a busy link (the age alone then
/// starts the RPO late by that wait) and the two clocks may differ. An older source leaves it out (null).</param>
internal sealed record SourceStatusReport(long Ops, long Bytes, double OldestAgeSeconds, bool RemirrorRequired, bool MirrorPending = false,
    string? OldestPendingAt = null);
