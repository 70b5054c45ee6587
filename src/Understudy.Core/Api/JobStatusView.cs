namespace Understudy.Core.Api;

/// <summary>States users see in `understudy status` and its JSON (docs/cli.md lists them).</summary>
internal sealed record ProgressView(
    string Mode, string Phase, long FilesDone, long FilesTotal, long BytesDone, long BytesTotal, long BytesSent,
    double RateBytesPerSecond, double? EtaSeconds, string StartedAt, string? FinishedAt, long Skipped, long OrphansKept, long OrphansDeleted);

/// <summary>A source job as `status` shows it. <see cref="Changes"/>: the runner's change count, read before the rest (the long poll of `wait` waits for it to move).
/// <see cref="NotProtected"/>: entries the target cannot take, left out (count, the first 20 with their reasons).</summary>
internal sealed record JobStatusView(
    string Name, string Role, JobState State, string? Reason, string Target, string TargetPath,
    IReadOnlyList<string> SourcePaths, ProgressView? Mirror, bool Mirrored, string? LastMirrorAt,
    VerifyReport? LastVerify, ReplicationView Replication, bool Idle, long Changes, NotProtectedView NotProtected,
    string Consistency = "file", WriteOrderView? WriteOrder = null, WitnessView? Witness = null);

/// <summary>Change-capture setup: directories watched (1 for a fanotify filesystem mark) of those found; directories the
/// inotify watch limit left unwatched, each with its subtree (<see cref="Unwatched"/>: the first 20, absolute).</summary>
internal sealed record WatchView(long DirectoriesWatched, long DirectoriesSeen, bool Ready, string? Error, int UnwatchedCount = 0,
    IReadOnlyList<string>? Unwatched = null);

/// <summary>Replication lag and settings of a source job (docs/cli.md, "status --json").</summary>
internal sealed record ReplicationView(
    bool Enabled, string? CaptureMethod, WatchView? Watch, long OpsPending, long BytesPending, double? OldestPendingAgeSeconds,
    long AckedSeq, long SentSeq, long LastSeq, long BandwidthBytesPerSecond, string Compression, bool Paused, bool RemirrorRequired, long OpsSent, long BytesSent);
