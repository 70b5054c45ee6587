using System.Globalization;

namespace Understudy.Agent.Replication;

/// <summary>
/// The point up to which change capture is durable: every change made before it (by its ctime) has its record in the
/// queue, or was seen by a mirror. Kept beside the queue (<c>captured-through</c>), so that the catch-up mirror after
/// a restart (or a stop) can treat every entry whose ctime is at or after it, less <see cref="Margin"/>, as changed
/// whatever its size and mtime say: an xattr change, or a rewrite of the same size with the old mtime put back, made
/// while nothing captured, shows in the ctime only (and no one can set a ctime back).
/// </summary>
/// <remarks>
/// The pipeline advances it when it has nothing unqueued (<see cref="Advance"/>). Lost events hold it where it is
/// until a mirror that started after them has covered the tree (<see cref="Hold"/>, <see cref="MirrorStarting"/>,
/// <see cref="MirrorCovered"/>); it also starts held, until the first mirror of this run. Unknown (no file, or one that
/// does not parse) means every entry counts as changed. The margin covers the kernel reader's lag behind the
/// changes and the coarse clock the kernel stamps ctimes with.
/// </remarks>
internal sealed class CapturePoint
{
    public static readonly TimeSpan Margin = TimeSpan.FromSeconds(5);
    private static readonly long SaveEveryNs = 1_000_000_000L;

    private readonly object _lock = new();
    private readonly string _file;
    private long? _ns;
    private long _savedNs = long.MinValue;
    private bool _held = true;
    private int _holds;

    public CapturePoint(string queueDirectory)
    {
        _file = Path.Combine(queueDirectory, "captured-through");
        _ns = Read(_file);
        if (_ns is { } n)
            _savedNs = n;
    }

    /// <summary>
    /// The ctimes a catch-up mirror must treat as changes it may not have records of: from the point (less the margin)
    /// to when capture was set up again in this run, or with no end when events were lost in this
    /// run. Null when capture is not in doubt (nothing lost since the point, and capture ran since it): every change
    /// since has its record in the queue, and a catch-up (the one after fail-back, or one confirming a resync) has
    /// nothing to learn from ctimes. Counting every recent ctime there only sent files again: a restore's own writes
    /// after a restart of the source agent were all re-sent by the catch-up after fail-back.
    /// </summary>
    public (long From, long? Until)? InDoubt
    {
        get
        {
            lock (_lock)
            {
                if (!_held)
                    return null;
                long from = _ns is { } n ? n - MarginNs : long.MinValue;
                long? until = _lostInRun || _capturingSinceNs is not { } c ? null : c + CaptureStartMarginNs;
                return (from, until);
            }
        }
    }

    private static long MarginNs => Margin.Ticks * 100;

    /// <summary>After capture is set up a change reaches a watcher whatever its ctime. None is needed: the kernel stamps
    /// ctimes from a coarse clock that lags real time, so a change made before the watchers were ready has a ctime
    /// before the moment this agent notes it (after readiness); a later one is captured. (A margin here made the
    /// catch-up after fail-back count a restore's own writes, made just after a restart, as changes: FailbackAgentTests.)</summary>
    private const long CaptureStartMarginNs = 0;

    private long? _capturingSinceNs;
    private bool _lostInRun;

    /// <summary>Events were lost in this run and no mirror has covered them yet.</summary>
    public bool LostInRun
    {
        get
        {
            lock (_lock)
                return _lostInRun;
        }
    }

    /// <summary>Capture is complete from <paramref name="now"/> on in this run (every watcher set up, nothing unqueued); once.</summary>
    public void Capturing(DateTimeOffset now)
    {
        lock (_lock)
            _capturingSinceNs ??= ToNs(now);
    }

    /// <summary>True when an advance is not saved yet (the pipeline wakes to save it).</summary>
    public bool Unsaved
    {
        get
        {
            lock (_lock)
                return _ns is { } n && n != _savedNs;
        }
    }

    /// <summary>Nothing received is unqueued at <paramref name="now"/>.</summary>
    public void Advance(DateTimeOffset now)
    {
        lock (_lock)
        {
            if (_held)
                return;
            long ns = ToNs(now);
            if (_ns is { } old && ns <= old)
                return;
            _ns = ns;
            if (ns - _savedNs >= SaveEveryNs)
                Save();
        }
    }

    /// <summary>Events were lost (or dropped): the point stays until a mirror started after this covers the tree.</summary>
    public void Hold()
    {
        lock (_lock)
        {
            _held = true;
            _lostInRun = true;
            _holds++;
        }
    }

    /// <summary>A mirror is about to walk the tree; pass the result to <see cref="MirrorCovered"/>.</summary>
    public (DateTimeOffset At, int Holds) MirrorStarting(DateTimeOffset now)
    {
        lock (_lock)
            return (now, _holds);
    }

    /// <summary>A mirror that started at <paramref name="start"/> completed: what changed before it is on the target.</summary>
    public void MirrorCovered((DateTimeOffset At, int Holds) start)
    {
        lock (_lock)
        {
            if (start.Holds != _holds)
                return; // events were lost while it ran: the next mirror releases
            _held = false;
            _lostInRun = false;
            long ns = ToNs(start.At);
            if (_ns is null || ns > _ns)
                _ns = ns;
            Save();
        }
    }

    /// <summary>Writes the point (temp + rename). Not synced: after a crash that loses it, the older point (or none,
    /// which counts every entry as changed) is only more work for the next catch-up, never less.</summary>
    private void Save()
    {
        if (_ns is not { } n)
            return;
        try
        {
            var tmp = _file + ".tmp";
            File.WriteAllText(tmp, n.ToString(CultureInfo.InvariantCulture));
            File.Move(tmp, _file, overwrite: true);
            _savedNs = n;
        }
        catch (IOException)
        {
            // The queue directory is unwritable: the queue itself reports that; the old point stays.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static long? Read(string file)
    {
        try
        {
            return long.TryParse(File.ReadAllText(file).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long ns) ? ns : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static long ToNs(DateTimeOffset t) => (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
}
