using System.Collections.Concurrent;
using System.Threading.Channels;
using Understudy.Agent.Replication.Capture;
using Understudy.Agent.Source;
using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Queue;

namespace Understudy.Agent.Replication;

/// <summary>
/// Change capture for one job: a watcher per source root → <see cref="Coalescer"/> → the job's
/// durable <see cref="SegmentLog"/> (one fsync per batch). Owns one background loop.
/// Overflows, lost roots and the queue limit are reported through callbacks; the job runner
/// turns them into a difference mirror. While <see cref="Suspended"/> (queue limit exceeded,
/// a mirror will follow) records are dropped: the coming mirror reads the tree afresh.
/// </summary>
internal sealed partial class CapturePipeline : IAsyncDisposable
{
    private const int MaxBatch = 8192;

    /// <summary>A batch closes early once no event came for this long (see <see cref="GatherAsync"/>).</summary>
    internal static readonly TimeSpan QuietGap = TimeSpan.FromMilliseconds(2);

    private readonly JobDefinition _job;

    /// <summary>The operation trace: each record as it is queued (<see cref="Events.OpTrace"/>).</summary>
    public Events.OpTrace Trace { get; init; } = Events.OpTrace.None;
    private readonly TimeProvider _time;
    private readonly TimeSpan _window;
    /// <summary>
    /// Watchers → batching loop, bounded (<see cref="WatcherOptions.ChannelCapacity"/> events for all roots; made in
    /// <see cref="Start"/>): when the loop cannot keep up (a slow queue disk, sustained churn), a full channel makes the
    /// pumps wait, so each watcher's own channel fills and the watcher drops what does not fit with an overflow that
    /// stands for it (a catch-up mirror). Unbounded, it grew with the churn, memory without limit.
    /// </summary>
    private Channel<RootedEvent> _events = Channel.CreateBounded<RootedEvent>(1);
    private readonly IChangeWatcher?[] _watchers;
    private readonly FsTree?[] _trees;
    private readonly ConcurrentBag<Task> _pumps = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Coalescer _coalescer = new();
    private readonly HeldRecords _heldQueued = new(new Coalescer().MaxHold);
    private Task _loop = Task.CompletedTask;
    private int _inFlight;

    /// <summary>MovedFrom cookies whose MovedTo has not arrived: a batch must not close between the two halves.</summary>
    private readonly ConcurrentDictionary<(int Root, uint Cookie), byte> _openMoves = new();

    public CapturePipeline(JobDefinition job, SegmentLog log, TimeSpan window, TimeProvider time)
    {
        _job = job;
        Log = log;
        _window = window;
        _time = time;
        _watchers = new IChangeWatcher?[job.Roots.Count];
        _trees = new FsTree?[job.Roots.Count];
        _unwatchedSeen = new IReadOnlyList<RelPath>?[job.Roots.Count];
    }

    public SegmentLog Log { get; }

    /// <summary>How each root is watched (method, channel size).</summary>
    public WatcherOptions WatcherOptions { get; init; } = WatcherOptions.Default;

    /// <summary>The longest a write to a file still open waits to settle (<c>replication.max_hold</c>).</summary>
    public TimeSpan MaxHold
    {
        get => _coalescer.MaxHold;
        init
        {
            _coalescer = new Coalescer { MaxHold = value };
            _heldQueued = new HeldRecords(value);
        }
    }

    /// <summary>Bytes of pending records beyond which <see cref="QueueLimitExceeded"/> fires.</summary>
    public long QueueLimit { get; set; } = long.MaxValue;

    /// <summary>True: records are dropped (a difference mirror is due and will see everything).</summary>
    public bool Suspended { get; set; }

    /// <summary>Events lost below a path of a root: a difference mirror must follow.</summary>
    public Action<int, RelPath, string>? Overflowed { get; set; }

    public Action<long>? QueueLimitExceeded { get; set; }

    /// <summary>The queue refused a batch (the data directory is full or failing): capture is suspended, as past the
    /// queue limit, until the catch-up mirror the handler asks for begins.</summary>
    public Action<Exception>? QueueUnwritable { get; set; }

    /// <summary>Runs the batching loop (again after a failure, whose batch a catch-up mirror covers); bare when null (tests).</summary>
    public Common.LoopSupervisor? Loops { get; init; }

    /// <summary>Told the reason when the batching loop failed (the job shows it until the catch-up mirror).</summary>
    public Action<string>? LoopFailed { get; init; }

    /// <summary>Test seam: the batching loop takes no event until this completes, so a test can make the pipeline's
    /// channel fill up. Null in production.</summary>
    internal Task? BatchGate { get; init; }

    /// <summary>Events waiting between the watchers and the batching loop.</summary>
    internal int Backlog => _events.Reader.CanCount ? _events.Reader.Count : Volatile.Read(ref _inFlight);

    /// <summary>How often a watcher's pump found the pipeline's channel full and waited.</summary>
    internal long BackPressured => Interlocked.Read(ref _backPressured);

    private long _backPressured;

    /// <summary>Raised after each batch is durable (the sender may have work).</summary>
    public Action? Appended { get; set; }

    public string? Error { get; private set; }

    /// <summary>Where capture is durable up to, for the catch-up after a restart (null: not kept, e.g. in tests).</summary>
    public CapturePoint? Point { get; init; }

    /// <summary>Events received but not yet in the queue (being coalesced, or writes waiting to settle).</summary>
    private long _oldestHeldTicks;

    /// <summary>When the oldest write still held back in the coalescer (an open file waiting to settle) was captured.</summary>
    public DateTimeOffset? OldestHeld => Volatile.Read(ref _oldestHeldTicks) is > 0 and var t ? new DateTimeOffset(t, TimeSpan.Zero) : null;

    /// <summary>When the first write held back for a record still unacknowledged was made (null: none such).</summary>
    public DateTimeOffset? OldestHeldQueued(QueueStats stats) => _heldQueued.OldestUnacknowledged(stats);

    public long PendingEvents => Volatile.Read(ref _inFlight) + (_processing ? 1 : 0) + _coalescer.PendingWrites;

    /// <summary>Set while a batch goes from the coalescer into the queue: a settled write has left the coalescer's
    /// count then and is not in the queue yet.</summary>
    private volatile bool _processing;

    /// <summary>No change is on its way from the kernel through any watcher (see <see cref="IChangeWatcher.Quiet"/>).</summary>
    public bool WatchersQuiet => _watchers.All(w => w is null || w.Quiet);

    public string? Method => _watchers.FirstOrDefault(w => w is not null)?.Method;

    public IReadOnlyList<WatchProgress> Progress => [.. _watchers.Where(w => w is not null).Select(w => w!.Progress)];

    /// <summary>Starts every root's watcher (so the caller may mirror right after) and the batching loop.</summary>
    public void Start()
    {
        _events = Channel.CreateBounded<RootedEvent>(new BoundedChannelOptions(Math.Max(2, WatcherOptions.ChannelCapacity))
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        for (int r = 0; r < _watchers.Length; r++)
        {
            if (!StartWatcher(r))
                _pumps.Add(WatchAgainAsync(r, _stop.Token));
        }
        _pumps.Add(RescanUnwatchedAsync(_stop.Token));
        _loop = Loops is { } loops ? loops.Run("capture", _job.Name, RunAsync, _stop.Token, CaptureFailed) : RunAsync(_stop.Token);
        if (Point is { } point && _watchers.All(w => w is not null))
        {
            // Every change from then on reaches a watcher: the end of what a catch-up must take from ctimes. (A root
            // whose watcher could not start leaves it open: its catch-up takes every ctime since the point.)
            _ = Task.WhenAll(_watchers.Select(w => w!.Ready)).ContinueWith(
                t => point.Capturing(_time.GetUtcNow()), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
        }
    }

    private bool StartWatcher(int r)
    {
        var root = _job.Roots[r];
        try
        {
            var w = ChangeWatcherFactory.Start(root.Path, p => _job.IsExcluded(p, false), WatcherOptions);
            _watchers[r] = w;
            _pumps.Add(PumpAsync(r, w, _stop.Token));
            Error = null;
            return true;
        }
        catch (WatcherException e)
        {
            Error = $"cannot watch {root.Path}: {e.Message}";
            Lost(r, RelPath.Root, Error);
            return false;
        }
    }

    private async Task PumpAsync(int root, IChangeWatcher w, CancellationToken ct)
    {
        string? lost = null;
        try
        {
            await foreach (var e in w.Events.ReadAllAsync(ct))
            {
                if (e.Kind == ChangeKind.Resync)
                {
                    ResyncRequested?.Invoke(root, e.Path, e.Reason ?? $"'{e.Path}' is watched again");
                    continue; // nothing to coalesce: the owner mirrors the subtree as it is now
                }
                Interlocked.Increment(ref _inFlight);
                if (e.Kind == ChangeKind.MovedFrom && e.Cookie != 0)
                    _openMoves[(root, e.Cookie)] = 0;
                else if (e.Kind == ChangeKind.MovedTo && e.Cookie != 0)
                    _openMoves.TryRemove((root, e.Cookie), out _);
                var rooted = new RootedEvent(root, e, _time.GetUtcNow());
                if (!_events.Writer.TryWrite(rooted))
                {
                    Interlocked.Increment(ref _backPressured);
                    await _events.Writer.WriteAsync(rooted, ct); // back-pressure: the watcher's channel takes the excess
                }
                if (e.Kind == ChangeKind.RootGone)
                {
                    lost = "the source root was deleted, moved or unmounted";
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e)
        {
            lost = $"change capture failed: {e.Message}";
        }
        if (ct.IsCancellationRequested)
            return;
        lost ??= "change capture stopped";
        Error = $"{_job.Roots[root].Path}: {lost}; watching again when it is back";
        Lost(root, RelPath.Root, Error);
        await w.DisposeAsync();
        await WatchAgainAsync(root, ct);
    }

    /// <summary>Watches again once the root is back; the difference mirror requested on the loss catches up.</summary>
    private async Task WatchAgainAsync(int root, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(2), _time, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (Directory.Exists(_job.Roots[root].Path) && StartWatcher(root))
            {
                Lost(root, RelPath.Root, $"{_job.Roots[root].Path}: watching again");
                return;
            }
        }
    }

    /// <summary>The batch being gathered or processed; a field so that a failed loop's batch leaves the in-flight count.</summary>
    private readonly List<RootedEvent> _batch = [];

    private async Task RunAsync(CancellationToken ct)
    {
        var batch = _batch;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                if (BatchGate is { IsCompleted: false } gate)
                    await gate.WaitAsync(ct);
                var settle = _coalescer.NextSettle;
                if (!_events.Reader.TryPeek(out _))
                {
                    if (Point is not null && Quiet())
                        Point.Advance(_time.GetUtcNow());
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    if (settle is { } s)
                        wait.CancelAfter(Max(s - _time.GetUtcNow(), TimeSpan.FromMilliseconds(10)));
                    else if (Point?.Unsaved == true)
                        wait.CancelAfter(TimeSpan.FromSeconds(1)); // wakes to advance it again, and save it
                    try
                    {
                        await _events.Reader.WaitToReadAsync(wait.Token);
                    }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                    {
                    }
                }
                if (_window > TimeSpan.Zero && _events.Reader.TryPeek(out _))
                    await GatherAsync(ct);
                batch.Clear();
                while (batch.Count < MaxBatch && _events.Reader.TryRead(out var e))
                    batch.Add(e);
                _openMoves.Clear(); // a move out of the job never pairs: it held this batch for the whole window only
                Process(batch);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>The batching loop threw: the events it held are gone, so every root takes a catch-up mirror.</summary>
    private void CaptureFailed(string reason)
    {
        _processing = false;
        Interlocked.Add(ref _inFlight, -_batch.Count);
        _batch.Clear();
        for (int r = 0; r < _watchers.Length; r++)
            Lost(r, RelPath.Root, $"{_job.Roots[r].Path}: {reason}");
        LoopFailed?.Invoke(reason);
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>Events were lost: reported, and the capture point stays until a mirror covers them.</summary>
    private void Lost(int root, RelPath path, string text)
    {
        Point?.Hold();
        Overflowed?.Invoke(root, path, text);
    }

    /// <summary>
    /// Nothing received is unqueued: no event in flight, no write waiting to settle, and every watcher set up, with
    /// nothing held back or unread in its channel. (What the kernel has not handed to a watcher yet, the point's
    /// margin covers.)
    /// </summary>
    private bool Quiet()
    {
        if (Volatile.Read(ref _inFlight) != 0 || _coalescer.PendingWrites != 0 || Suspended)
            return false;
        foreach (var w in _watchers)
        {
            if (w is null || !w.Ready.IsCompletedSuccessfully || !w.Settled || !w.Events.CanCount || w.Events.Count != 0)
                return false;
        }
        return true;
    }

    /// <summary>A mirror is about to walk the tree: see <see cref="CapturePoint.MirrorStarting"/>.</summary>
    public (DateTimeOffset At, int Holds)? MirrorStarting() => Point?.MirrorStarting(_time.GetUtcNow());

    public void MirrorCovered((DateTimeOffset At, int Holds)? start)
    {
        if (start is { } s)
            Point?.MirrorCovered(s);
    }

    /// <summary>
    /// Coalescing window: gathers what arrives after the first event until nothing new came for
    /// <see cref="QuietGap"/>, or for the whole window in a steady stream. A lone change (a file's
    /// create, write and close reach us microseconds apart) is queued after the gap instead of
    /// waiting out the window; a burst still merges over the full window, and so does a batch
    /// holding the first half of a rename.
    /// </summary>
    private async Task GatherAsync(CancellationToken ct)
    {
        var end = _time.GetUtcNow() + _window;
        var gap = _window < QuietGap ? _window : QuietGap;
        while (true)
        {
            // Only the pumps change _inFlight while this loop gathers (it is decremented after Process).
            int seen = Volatile.Read(ref _inFlight);
            var left = end - _time.GetUtcNow();
            if (left <= TimeSpan.Zero)
                return;
            await Task.Delay(left < gap ? left : gap, _time, ct);
            // The coalescer pairs a rename's halves only within one batch (else: a delete and a re-send).
            if (Volatile.Read(ref _inFlight) == seen && _openMoves.IsEmpty)
                return;
        }
    }

    private void Process(List<RootedEvent> batch)
    {
        _processing = true;
        try
        {
            ProcessBatch(batch);
        }
        finally
        {
            _processing = false;
        }
    }

    private void ProcessBatch(List<RootedEvent> batch)
    {
        var result = _coalescer.Process(batch, _time.GetUtcNow());
        Volatile.Write(ref _oldestHeldTicks, _coalescer.OldestHeld?.UtcTicks ?? 0);
        // A watch that could not be placed (e.g. the inotify limit, with the sysctl that raises it) says why itself.
        foreach (var (root, path, reason) in result.Overflows)
            Lost(root, path, reason ?? $"change events were lost (overflow) below {path}");
        if (result.Records.Count > 0 && !Suspended)
        {
            var now = _time.GetUtcNow();
            long queuedAt = (now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
            long last;
            try
            {
                last = Log.AppendBatch(result.Records.Select(r => (ReadOnlyMemory<byte>)Traced(WithInode(r) with { QueuedAtNs = queuedAt }).Encode()));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The log dropped the batch's records (none became durable: QueueWriteException); they, and all
                // that follows until the catch-up mirror begins, that mirror's walk sees.
                Suspended = true;
                Point?.Hold();
                Interlocked.Add(ref _inFlight, -batch.Count);
                batch.Clear();
                QueueUnwritable?.Invoke(e);
                return;
            }
            foreach (var (index, since) in result.HeldSince.OrderBy(h => h.Key))
                _heldQueued.Add(last - result.Records.Count + 1 + index, since, now);
            var pending = Log.Stats.PendingBytes;
            if (pending > QueueLimit)
            {
                Suspended = true;
                Point?.Hold(); // records are dropped from now on
                QueueLimitExceeded?.Invoke(pending);
            }
        }
        Interlocked.Add(ref _inFlight, -batch.Count);
        batch.Clear();
        if (result.Records.Count > 0)
            Appended?.Invoke();
    }

    private ReplicationRecord Traced(ReplicationRecord r)
    {
        if (Trace.On)
            Trace.Write(_job.Name, $"queues {r.Kind} {r.Root}:{r.Path}{(r.Kind == RecordKind.Rename ? $" -> {r.To}" : "")}{(r.Inode is { } i ? $" inode {i.Ino}" : "")}");
        return r;
    }

    /// <summary>
    /// An Upsert of a multiply linked file carries its inode: a change made through this name is a change of the
    /// others, and this name may be gone (deleted, moved out) by the time the record is sent. Both watchers say so in
    /// the event (inotify through a watch on each multiply linked file: InotifyWatcher.Links); this lookup covers a
    /// name that had one link when the watcher saw it and still holds the file now.
    /// </summary>
    private ReplicationRecord WithInode(ReplicationRecord r)
    {
        if (r.Kind != RecordKind.Upsert || r.IsDirectory || r.Inode is not null || r.Root >= _trees.Length)
            return r;
        try
        {
            _trees[r.Root] ??= FsTree.Open(_job.Roots[r.Root].Path, create: false);
            return _trees[r.Root]!.Lstat(r.Path) is { Kind: EntryKind.File, LinkCount: > 1 } st ? r with { Inode = (st.Device, st.Inode) } : r;
        }
        catch (PosixException)
        {
            _trees[r.Root]?.Dispose();
            _trees[r.Root] = null; // the root is gone or was replaced: opened again next time
            return r;
        }
    }

    /// <summary>Makes sure every event received so far is in the queue (used before a mirror's walk). When the log
    /// drops records it could not make durable, capture stops queueing as after a failed batch (ProcessBatch).</summary>
    public void Flush()
    {
        try
        {
            Log.Flush();
        }
        catch (QueueWriteException e) when (e.Dropped > 0)
        {
            Suspended = true;
            Point?.Hold();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var w in _watchers)
        {
            if (w is not null)
                await w.DisposeAsync();
        }
        try
        {
            await _loop;
            await Task.WhenAll(_pumps);
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
        foreach (var t in _trees)
            t?.Dispose();
    }
}
