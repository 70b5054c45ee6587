using System.Threading.Channels;

namespace Understudy.Agent.Replication.Capture;

/// <summary>Reports every change under one root directory, never losing one silently.</summary>
internal interface IChangeWatcher : IAsyncDisposable
{
    /// <summary>"fanotify" or "inotify": shown to users per job.</summary>
    string Method { get; }

    /// <summary>
    /// A bounded stream of changes. The kernel reader never waits for the consumer: when the
    /// channel is full, events are dropped and one <see cref="ChangeKind.Overflow"/> of the root
    /// stands in for them. The channel completes on disposal, or faults if the watcher breaks.
    /// </summary>
    ChannelReader<ChangeEvent> Events { get; }

    WatchProgress Progress { get; }

    /// <summary>Completes when the initial setup is finished (for inotify: every directory watched).</summary>
    Task Ready { get; }

    /// <summary>
    /// False while the watcher holds events back or has a check of them still to finish (fanotify: rename order and
    /// merges, <see cref="FanotifyMergeCheck"/>), whose outcome (the events, or an overflow) is not published yet.
    /// Read from another thread as a hint; tests wait for it before comparing what was published with the disk.
    /// </summary>
    bool Settled => true;

    /// <summary>
    /// True when no change is on its way through the watcher: nothing waits in the kernel's queue (FIONREAD), nothing
    /// is held back (<see cref="Settled"/>) and nothing published waits in <see cref="Events"/>. `idle` requires it, so a
    /// change made just before a status request is never missed by it. Read from another thread.
    /// </summary>
    bool Quiet => Settled;
}
