namespace Understudy.Agent.Replication.Capture;

/// <summary>What happened to a path. See <see cref="ChangeEvent"/> for the contract consumers rely on.</summary>
internal enum ChangeKind
{
    /// <summary>A name appeared: file, directory, symlink, device, or a new hard link.</summary>
    Created,

    /// <summary>A writer closed the file after writing (IN_CLOSE_WRITE / FAN_CLOSE_WRITE): the content is complete.</summary>
    Modified,

    /// <summary>Metadata changed: chmod, chown, xattr, utimes, link count.</summary>
    Attributes,

    Deleted,
    MovedFrom,
    MovedTo,

    /// <summary>Events were lost: rescan <see cref="ChangeEvent.Path"/> (often the root) against the target.</summary>
    Overflow,

    /// <summary>The watched root itself was deleted, moved or unmounted; nothing more will be reported.</summary>
    RootGone,

    /// <summary>
    /// Content changed but the writer may still hold the file open (IN_MODIFY / FAN_MODIFY). Reported only
    /// when <see cref="WatcherOptions.ReportWrites"/> is set, because truncate(2), mmap writes and files kept
    /// open for a long time (logs) never produce a close-write.
    /// </summary>
    Written,

    /// <summary>
    /// A subtree the watcher could not watch has a watch again (inotify: the watch limit allowed it): nothing was lost
    /// in the event stream, but what changed there meanwhile was never reported, so the subtree is read afresh. The
    /// capture pipeline hands it to its owner (a difference mirror of the path) instead of queuing it.
    /// </summary>
    Resync,
}
