namespace Understudy.Core.Api;

/// <summary>
/// One peer this agent accepts, as `trust list` shows it; <see cref="AddedAt"/> in the state store's time format.
/// The rest is this agent's policy for the peer as a source (docs/security.md): <see cref="Roots"/>, the real
/// directories its jobs may write under (none: nowhere), and the privileges its replicas may carry here.
/// </summary>
internal sealed record TrustedPeer(string Id, string Name, string AddedAt, string[] Roots, bool AllowSetuid = false, bool AllowSecurityXattrs = false);
