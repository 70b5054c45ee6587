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

    /// <summary>
    /// inotify: how often directories left unwatched (the watch limit) are given a watch again, and, until one is, how
    /// often their subtrees are scanned for changes (ctimes) by the capture pipeline. Zero: never.
    /// </summary>
    public TimeSpan WatchRetry { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>fanotify: let the kernel queue grow without limit instead of overflowing at fs.fanotify.max_queued_events.</summary>
    public bool FanotifyUnlimitedQueue { get; init; }

    /// <summary>
    /// Test seam: the kernel is not read until this task completes, so a test can fill the
    /// kernel queue and force an overflow deterministically. Null in production.
    /// </summary>
    public Task? ReadGate { get; init; }

    public static WatcherOptions Default { get; } = new();

    /// <summary>
    /// The defaults, changed by the agent's test and diagnostic knobs (docs/cli.md, "Agent environment"):
    /// <c>UNDERSTUDY_CAPTURE</c> (<c>auto</c>, <c>fanotify</c> or <c>inotify</c>) forces a capture method, and
    /// <c>UNDERSTUDY_CAPTURE_QUEUE</c> (at least 2) sets <see cref="ChannelCapacity"/>, so that a test can make
    /// the agent's event queue overflow without lowering the machine-wide fs.inotify.max_queued_events;
    /// <c>UNDERSTUDY_WATCH_RETRY_MS</c> sets <see cref="WatchRetry"/>. Values that do not parse are ignored.
    /// </summary>
    public static WatcherOptions FromEnvironment(Func<string, string?> env)
    {
        ArgumentNullException.ThrowIfNull(env);
        var o = Default;
        if (Enum.TryParse<WatcherMethod>(env("UNDERSTUDY_CAPTURE")?.Trim(), ignoreCase: true, out var method) && Enum.IsDefined(method))
            o = o with { Prefer = method };
        if (int.TryParse(env("UNDERSTUDY_CAPTURE_QUEUE"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int capacity) && capacity >= 2)
            o = o with { ChannelCapacity = capacity };
        if (long.TryParse(env("UNDERSTUDY_WATCH_RETRY_MS"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long retryMs))
            o = o with { WatchRetry = TimeSpan.FromMilliseconds(retryMs) };
        return o;
    }
}
