namespace Understudy.Core.Api;

/// <summary>`status`: entries the target cannot take (count, and the first ones with their reasons).</summary>
internal sealed record NotProtectedView(long Count, IReadOnlyList<NotProtectedEntry> Entries);

internal sealed record NotProtectedEntry(string Path, string Reason);
