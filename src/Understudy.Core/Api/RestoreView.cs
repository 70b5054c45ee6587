namespace Understudy.Core.Api;

/// <summary>Restore progress in the fail-over view (`understudy status`, console).</summary>
internal sealed record RestoreView(string Phase, bool SourceConnected, int RootsInSync, int Roots, long FilesDone, long FilesTotal,
    long BytesDone, long BytesTotal, string? LastSyncAt, string? Error, IReadOnlyList<ConflictReport> Conflicts);

/// <summary>One diverged path found by the source during a restore. <see cref="ParkedAs"/> is null when discarded.</summary>
internal sealed record ConflictReport(int Root, string Path, string? ParkedAs, string At);
