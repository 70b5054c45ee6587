namespace Understudy.Agent.Replication.Capture;

internal enum WatcherMethod
{
    /// <summary>fanotify when running as root and the kernel allows it, inotify otherwise.</summary>
    Auto,
    Fanotify,
    Inotify,
}

internal sealed record WatcherOptions
{
    public WatcherMethod Prefer { get; init; } = WatcherMethod.Auto;

    /// <summary>Capacity of <see cref="IChangeWatcher.Events"/>; one slot is kept for an overflow marker.</summary>
    public int ChannelCapacity { get; init; } = 65536;

    /// <summary>Report <see cref="ChangeKind.Written"/> for writes that have not been closed yet.</summary>
    public bool ReportWrites { get; init; } = true;

    /// <summary>Bytes read from the kernel at once.</summary>
    public int ReadBufferSize { get; init; } = 256 * 1024;

    /// <summary>inotify: directories given a watch per setup step, between two reads of events.</summary>
    public int SetupBatchSize { get; init; } = 512;

    /// <summary>fanotify: let the kernel queue grow without limit instead of overflowing at fs.fanotify.max_queued_events.</summary>
    public bool FanotifyUnlimitedQueue { get; init; }

    /// <summary>
    /// Test seam: the kernel is not read until this task completes, so a test can fill the
    /// kernel queue and force an overflow deterministically. Null in production.
    /// </summary>
    public Task? ReadGate { get; init; }

    public static WatcherOptions Default { get; } = new();
}
