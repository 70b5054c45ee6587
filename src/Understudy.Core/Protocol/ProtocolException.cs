using System.Diagnostics.CodeAnalysis;

namespace Understudy.Core.Protocol;

/// <summary>
/// The peer broke the protocol: a malformed, oversized or unexpected frame, or a bad handshake.
/// Never transient: the connection that produced it is closed, nothing from the offending
/// frame is applied.
/// </summary>
internal class ProtocolException(string reason) : Exception(reason)
{
    [DoesNotReturn]
    public static void Throw(string reason) => throw new ProtocolException(reason);
}
