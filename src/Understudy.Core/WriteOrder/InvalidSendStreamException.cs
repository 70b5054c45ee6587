namespace Understudy.Core.WriteOrder;

/// <summary>A btrfs send stream that cannot be trusted: a bad header or checksum, a length past
/// its limit, a truncated command, a missing or malformed attribute. Never transient: the same
/// bytes fail the same way, so the point that carried them is dropped, not retried.</summary>
internal sealed class InvalidSendStreamException : Exception
{
    public InvalidSendStreamException(string message, long offset)
        : base($"btrfs send stream at byte {offset}: {message}")
    {
        Offset = offset;
    }

    /// <summary>Where in the stream the fault is (the start of the command for a command's faults).</summary>
    public long Offset { get; }
}
