namespace Understudy.Core.Api;

/// <summary>One difference between source and target: a path, what kind of difference (the agent's DifferenceKind words) and the detail.</summary>
internal sealed record Difference(string Path, string Kind, string Detail);

internal sealed record VerifyReport(string Job, bool Checksum, DateTimeOffset At, long EntriesChecked, IReadOnlyList<Difference> Differences, bool Repaired)
{
    public bool Identical => Differences.Count == 0;

    /// <summary>Run by <c>verify.schedule</c>, not asked for.</summary>
    public bool Scheduled { get; init; }
}
