using Understudy.Agent.Replication.Capture;
using Understudy.Core.Paths;

namespace Understudy.Agent.Replication;

/// <summary>A change event from the watcher of one of the job's roots.</summary>
/// <remarks><see cref="At"/>: when the capture pipeline read the event from its watcher (default: unknown, the batch's own
/// time is taken). A write is dated from it, not from when its batch is processed: the coalescing window and any
/// backlog of the capture loop lie between, and the true RPO must not start that much late (issue 17).</remarks>
internal readonly record struct RootedEvent(int Root, ChangeEvent Event, DateTimeOffset At = default);

/// <summary>What one batch of events turned into. <see cref="HeldSince"/>: for a record that stands for writes held back
/// (by its index in <see cref="Records"/>), when the first of them was made — older than the record itself by up to
/// MaxHold, which the true RPO must count (issue 17).</summary>
internal sealed record CoalescedBatch(
    IReadOnlyList<ReplicationRecord> Records,
    IReadOnlyList<(int Root, RelPath Path, string? Reason)> Overflows,
    IReadOnlyList<int> RootsGone,
    IReadOnlyDictionary<int, DateTimeOffset> HeldSince);

/// <summary>
/// Turns a window of change events into queue records, in order, merging what can be merged:
/// repeated changes to one path become one Upsert (content is read when sent, so the first
/// position is enough), a MovedFrom/MovedTo pair becomes one Rename, and every directory whose
/// children changed gets one DirMeta after them (deepest first), so its mtime ends equal.
/// A merge never crosses a rename or delete of the same path or of a directory above it.
/// Writes not yet closed (<see cref="ChangeKind.Written"/>) wait until the file has been quiet
/// for <see cref="WriteSettle"/> or is closed, so a file being written is not shipped over and over;
/// but never longer than <see cref="MaxHold"/>: a file written without pause (a database's) is queued
/// once per MaxHold while it is written, so its changes are at most that late (issue 17).
/// Pure logic, no I/O: unit-tested on its own.
/// </summary>
internal sealed class Coalescer
{
    /// <summary>Written files waiting: when each was last written, when it began to wait, and which file it is when the
    /// watcher said so (a multiply linked file: the name may be gone by the time it settles, convergence seeds 2434, 2446).</summary>
    private readonly Dictionary<(int, RelPath), Held> _written = [];

    private readonly record struct Held(DateTimeOffset Last, DateTimeOffset First, (ulong Dev, ulong Ino)? Inode);
    private RootedEvent? _carried;
    private DateTimeOffset _carriedAt;

    public TimeSpan WriteSettle { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest a written file waits for quiet before it is queued all the same.</summary>
    public TimeSpan MaxHold { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a move's first half waits for its second half at the end of a batch.</summary>
    public TimeSpan PairWait { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Written files waiting to settle, and a move waiting for its other half (counted as pending work).</summary>
    public int PendingWrites => _written.Count + (_carried is null ? 0 : 1);

    /// <summary>When the longest-waiting written file began to wait (null: none waits): the age of the oldest change
    /// captured but not queued yet, which the true RPO must count (issue 17).</summary>
    public DateTimeOffset? OldestHeld => _written.Count == 0 ? null : _written.Values.Min(w => w.First);

    private DateTimeOffset Due(Held w) =>
        w.Last + WriteSettle < w.First + MaxHold ? w.Last + WriteSettle : w.First + MaxHold;

    /// <summary>When the oldest waiting write settles (or a waiting move half gives up), or null when nothing waits.</summary>
    public DateTimeOffset? NextSettle
    {
        get
        {
            DateTimeOffset? next = _written.Count == 0 ? null : _written.Values.Min(w => Due(w));
            if (_carried is not null && (next is null || _carriedAt + PairWait < next))
                next = _carriedAt + PairWait;
            return next;
        }
    }

    public CoalescedBatch Process(IReadOnlyList<RootedEvent> events, DateTimeOffset now)
    {
        // A MovedFrom that ends a batch usually has its MovedTo in the next one (the two halves can be split where
        // the batch was cut): it waits for one more batch instead of becoming a Delete and a copy of the whole tree.
        bool wasCarried = _carried is not null;
        if (_carried is { } held)
        {
            _carried = null;
            events = [held, .. events];
        }
        if (events.Count > 0 && events[^1].Event is { Kind: ChangeKind.MovedFrom, Cookie: not 0 } && !(wasCarried && events.Count == 1))
        {
            _carried = events[^1];
            _carriedAt = now;
            events = [.. events.Take(events.Count - 1)];
        }

        var output = new List<ReplicationRecord>(events.Count);
        var upserts = new Dictionary<(int, RelPath), int>();
        var parents = new HashSet<(int Root, RelPath Path)>();
        var overflows = new List<(int, RelPath, string?)>();
        var gone = new List<int>();
        var consumed = new HashSet<int>();
        var since = new Dictionary<int, DateTimeOffset>();

        void Since(int at, DateTimeOffset first)
        {
            if (!since.TryGetValue(at, out var t) || first < t)
                since[at] = first;
        }

        void Upsert(int root, RelPath path, bool dir, RecordKind kind = RecordKind.Upsert, (ulong, ulong)? inode = null)
        {
            DateTimeOffset? heldSince = null;
            if (_written.Remove((root, path), out var held))
            {
                inode ??= held.Inode;
                heldSince = held.First;
            }
            if (upserts.TryGetValue((root, path), out int at))
            {
                if (heldSince is { } hs)
                    Since(at, hs);
                if (kind == RecordKind.UpsertTree && output[at].Kind == RecordKind.Upsert)
                    output[at] = output[at] with { Kind = RecordKind.UpsertTree };
                if (inode is not null && output[at].Inode is null)
                    output[at] = output[at] with { Inode = inode };
                return;
            }
            upserts[(root, path)] = output.Count;
            if (heldSince is { } first)
                Since(output.Count, first);
            output.Add(new ReplicationRecord(kind, root, path, dir, Inode: inode));
        }

        void Barrier(int root, RelPath path, bool dir)
        {
            // Nothing before this point may absorb a later change of this path (or below it).
            if (!dir)
            {
                upserts.Remove((root, path));
                return;
            }
            foreach (var k in upserts.Keys.Where(k => k.Item1 == root && k.Item2.IsUnder(path)).ToList())
                upserts.Remove(k);
        }

        // Writes waiting at or below a path that is removed now are dropped, but for those that said which file they
        // changed: a multiply linked file written through a name then removed keeps its other names, and the change is
        // theirs (queued now, before the removal: the sender sends it to a name the file still has).
        void Release(int root, RelPath path)
        {
            foreach (var (k, held) in _written.Where(w => w.Key.Item1 == root && w.Key.Item2.IsUnder(path)).ToList())
            {
                _written.Remove(k);
                if (held.Inode is not null)
                {
                    Since(output.Count, held.First);
                    output.Add(new ReplicationRecord(RecordKind.Upsert, root, k.Item2, Inode: held.Inode));
                }
            }
        }

        void MoveWritten(int root, RelPath from, RelPath to)
        {
            foreach (var k in _written.Keys.Where(k => k.Item1 == root && k.Item2.IsUnder(from)).ToList())
            {
                var t = _written[k];
                _written.Remove(k);
                _written[(root, k.Item2.Rebase(from, to))] = t;
            }
        }

        for (int i = 0; i < events.Count; i++)
        {
            if (consumed.Contains(i))
                continue;
            var (root, e, at) = events[i];
            switch (e.Kind)
            {
                case ChangeKind.Created:
                    // A new name of a multiply linked file (inotify says which file when it read the name).
                    Upsert(root, e.Path, e.IsDirectory, inode: e.Inode);
                    AddParent(parents, root, e.Path);
                    break;
                case ChangeKind.Modified:
                    // The target writes a file through a temporary name in its directory: that directory's mtime moves.
                    Upsert(root, e.Path, e.IsDirectory, inode: e.Inode);
                    AddParent(parents, root, e.Path);
                    break;
                case ChangeKind.Attributes:
                    // Sent as the whole entry (records name paths only): a file goes through a temporary name again.
                    Upsert(root, e.Path, e.IsDirectory, inode: e.Inode);
                    AddParent(parents, root, e.Path);
                    break;
                case ChangeKind.Written:
                    if (upserts.TryGetValue((root, e.Path), out int merged))
                    {
                        if (e.Inode is not null && output[merged].Inode is null)
                            output[merged] = output[merged] with { Inode = e.Inode };
                    }
                    else
                    {
                        var known = at != default && at < now ? at : now;
                        var w = _written.GetValueOrDefault((root, e.Path), new Held(now, known, null));
                        _written[(root, e.Path)] = new Held(now, w.First, e.Inode ?? w.Inode);
                    }
                    break;
                case ChangeKind.Deleted:
                    Barrier(root, e.Path, e.IsDirectory);
                    Release(root, e.Path);
                    if (!e.Path.IsRoot)
                        output.Add(new ReplicationRecord(RecordKind.Delete, root, e.Path, e.IsDirectory));
                    AddParent(parents, root, e.Path);
                    break;
                case ChangeKind.MovedFrom:
                    int pair = e.Cookie == 0 ? -1 : FindPair(events, i, root, e.Cookie);
                    Barrier(root, e.Path, e.IsDirectory);
                    AddParent(parents, root, e.Path);
                    if (pair < 0)
                    {
                        // Moved out of the job: gone, as far as the target is concerned.
                        Release(root, e.Path);
                        output.Add(new ReplicationRecord(RecordKind.Delete, root, e.Path, e.IsDirectory));
                        break;
                    }
                    consumed.Add(pair);
                    var to = events[pair].Event.Path;
                    Barrier(root, to, true);
                    MoveWritten(root, e.Path, to);
                    if (e.IsDirectory)
                        MoveParents(parents, root, e.Path, to);
                    output.Add(new ReplicationRecord(RecordKind.Rename, root, e.Path, e.IsDirectory, to));
                    AddParent(parents, root, to);
                    break;
                case ChangeKind.MovedTo:
                    // Unpaired: moved in from outside the job, so the target has nothing to rename.
                    Barrier(root, e.Path, true);
                    Upsert(root, e.Path, e.IsDirectory, RecordKind.UpsertTree);
                    AddParent(parents, root, e.Path);
                    break;
                case ChangeKind.Overflow:
                    overflows.Add((root, e.Path, e.Reason));
                    break;
                case ChangeKind.RootGone:
                    if (!gone.Contains(root))
                        gone.Add(root);
                    break;
            }
        }

        foreach (var (key, waiting) in _written.Where(w => Due(w.Value) <= now).ToList())
        {
            _written.Remove(key);
            if (upserts.TryGetValue(key, out int at))
            {
                Since(at, waiting.First);
                if (waiting.Inode is not null && output[at].Inode is null)
                    output[at] = output[at] with { Inode = waiting.Inode };
            }
            else
            {
                Since(output.Count, waiting.First);
                upserts[key] = output.Count;
                output.Add(new ReplicationRecord(RecordKind.Upsert, key.Item1, key.Item2, Inode: waiting.Inode));
                AddParent(parents, key.Item1, key.Item2);
            }
        }

        foreach (var p in parents.OrderByDescending(p => p.Path.Length).ThenBy(p => p.Root))
            output.Add(new ReplicationRecord(RecordKind.DirMeta, p.Root, p.Path, true));
        return new CoalescedBatch(output, overflows, gone, since);
    }

    /// <summary>The DirMetas come after the whole batch, so a directory renamed in it is named as it is then.</summary>
    private static void MoveParents(HashSet<(int Root, RelPath Path)> parents, int root, RelPath from, RelPath to)
    {
        foreach (var p in parents.Where(p => p.Root == root && p.Path.IsUnder(from)).ToList())
        {
            parents.Remove(p);
            parents.Add((root, p.Path.Rebase(from, to)));
        }
    }

    private static void AddParent(HashSet<(int, RelPath)> parents, int root, RelPath path)
    {
        if (!path.IsRoot)
            parents.Add((root, path.Parent));
    }

    private static int FindPair(IReadOnlyList<RootedEvent> events, int from, int root, uint cookie)
    {
        for (int j = from + 1; j < events.Count; j++)
        {
            var (r, e, _) = events[j];
            if (r == root && e.Kind == ChangeKind.MovedTo && e.Cookie == cookie)
                return j;
        }
        return -1;
    }
}
