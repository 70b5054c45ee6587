namespace Understudy.Core.WriteOrder.Source;

/// <summary>A path write-order mode cannot serve (not on btrfs, not in a subvolume the agent can snapshot and
/// send). The message names the path, what was found and what the mode needs; <c>job apply</c> shows it as is.</summary>
internal sealed class WriteOrderUnsupportedException(string message) : Exception(message);
