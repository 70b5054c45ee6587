namespace Understudy.Core.Api;

/// <summary>One peer this agent accepts, as `trust list` shows it; <see cref="AddedAt"/> in the state store's time format.</summary>
internal sealed record TrustedPeer(string Id, string Name, string AddedAt);
