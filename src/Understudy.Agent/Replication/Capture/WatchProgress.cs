using Understudy.Core.Paths;

namespace Understudy.Agent.Replication.Capture;

/// <summary>
/// Setup progress of a watcher, read by status displays on other threads while the watcher's
/// own thread updates it; hence plain volatile fields and no locks.
/// </summary>
internal sealed class WatchProgress
{
    private long _watched;
    private long _seen;
    private volatile bool _ready;
    private volatile string? _lastError;
    private volatile RelPath[] _unwatched = [];

    /// <summary>Directories with an active watch (inotify) or 1 for a filesystem mark (fanotify).</summary>
    public long DirectoriesWatched => Volatile.Read(ref _watched);

    /// <summary>Directories found so far, watched or queued to be watched.</summary>
    public long DirectoriesSeen => Volatile.Read(ref _seen);

    public bool IsReady => _ready;

    /// <summary>The latest problem worth showing to a user, e.g. the watch limit and the sysctl that raises it.</summary>
    public string? LastError => _lastError;

    /// <summary>
    /// Directories left without a watch (inotify: the watch limit), each standing for its whole subtree: retried every
    /// <see cref="WatcherOptions.WatchRetry"/>, and scanned for changes meanwhile (<see cref="CapturePipeline"/>).
    /// </summary>
    public IReadOnlyList<RelPath> Unwatched => _unwatched;

    internal void SetUnwatched(RelPath[] paths) => _unwatched = paths;

    internal void AddWatched(long n) => Interlocked.Add(ref _watched, n);

    internal void AddSeen(long n) => Interlocked.Add(ref _seen, n);

    internal void SetReady() => _ready = true;

    internal void SetError(string text) => _lastError = text;

    internal void ClearError() => _lastError = null;

    public override string ToString() =>
        $"{DirectoriesWatched}/{DirectoriesSeen} directories watched{(IsReady ? ", ready" : "")}{(LastError is null ? "" : $", {LastError}")}";
}
