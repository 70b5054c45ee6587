namespace Understudy.Core.Protocol.Control;

/// <summary>
/// "source-status": what the source has queued and the target has not acknowledged (<see cref="Ops"/> as status's
/// opsPending, <see cref="Bytes"/> of queue records, the oldest record's age, 0 when none; <see cref="RemirrorRequired"/>:
/// past the queue limit, later changes were not queued). The target keeps the last one to say, at fail-over, what was lost.
/// </summary>
internal sealed record SourceStatusReport(long Ops, long Bytes, double OldestAgeSeconds, bool RemirrorRequired);
