using Understudy.Core.Paths;

namespace Understudy.Agent.Replication.Capture;

/// <summary>
/// Holds a fanotify watcher's events between being named and being published, and puts each directory
/// rename back where it belongs. Only the watcher thread uses it. Pure logic, unit-tested on its own.
/// </summary>
/// <remarks>
/// <para>Why: a fanotify event names its directory by a file handle, which the watcher turns into a path
/// when it reads the event, not when the change happened. A change made in directory D just before D is
/// renamed from A to B, but read after the rename, is named B/x and arrives ahead of the rename "A → B".
/// Replayed in that order the target would create B/x before the rename (which then finds B in the way),
/// delete a B/y that is still called A/y there, or rename a B/f that does not exist yet.</para>
/// <para>The fix: such an event has its directory at or below B when it is still followed by the rename
/// to B, and no event named before the rename happened can (only an empty B can be replaced by a rename).
/// So a directory rename to B is moved back to just before the first held event whose directory lies at
/// or below B, counting from the last held event that created, removed or moved B or a parent of it (before
/// that, B/x named another directory, or this one before it was renamed from B to A). Every event
/// it jumps over either is one of those (now correctly after it), or lies outside A and B (the two commute),
/// or lies below A (named before the rename: rebased below B, which is the same change after the rename).
/// When one of them creates, removes or moves a parent of A, or moves something to A, the order cannot be
/// repaired; an overflow is published after it, and the difference mirror it causes covers whatever the
/// order got wrong.</para>
/// <para>When an event may be published: the rename that misnamed it happened before the event was named,
/// so it was queued by the kernel by then. An event is therefore held until the kernel queue has been seen
/// empty after the event was named (a read that did not fill the buffer, or a poll with nothing to read):
/// every rename that could have misnamed it has then been read and placed.</para>
/// </remarks>
internal sealed class FanotifyEventOrder
{
    /// <summary>Beyond this many held events, the oldest are published anyway and an overflow covers them.</summary>
    public const int MaxHeld = 65536;

    private readonly List<Held> _held = [];

    public int Count => _held.Count;

    /// <summary>
    /// One named change, or a move (<paramref name="second"/> is the MovedTo of the MovedFrom in <paramref name="first"/>).
    /// <paramref name="dir"/> is the directory whose handle named the event (the object itself for an event about a
    /// directory itself); null for events that name no path (overflow, root gone). <paramref name="batch"/> counts
    /// kernel reads: the one this event was named after.
    /// </summary>
    public void Add(ChangeEvent first, RelPath? dir, long batch, ChangeEvent? second = null, RelPath? secondDir = null)
    {
        var item = new Held(first, dir, second, secondDir, batch);
        if (second is { IsDirectory: true } to && first.Kind == ChangeKind.MovedFrom)
            PlaceDirectoryMove(item, first.Path, to.Path);
        else if (first is { Kind: ChangeKind.MovedTo, IsDirectory: true } movedIn)
            PlaceDirectoryMove(item, null, movedIn.Path);
        else
            _held.Add(item);
        if (_held.Count > MaxHeld)
            Overflowed = true;
    }

    /// <summary>Set when order could not be kept (see remarks); the watcher publishes an overflow and clears it.</summary>
    public bool Overflowed { get; set; }

    /// <summary>Why the last overflow was set, for the log.</summary>
    public string? OverflowReason { get; private set; }

    /// <summary>Publishes, in order, the held events named before <paramref name="batch"/> (up to the first later one).</summary>
    public void ReleaseBefore(long batch, Action<ChangeEvent> publish)
    {
        int n = 0;
        while (n < _held.Count && (_held[n].Batch < batch || _held.Count - n > MaxHeld))
            n++;
        Release(n, publish);
    }

    public void ReleaseAll(Action<ChangeEvent> publish) => Release(_held.Count, publish);

    private void Release(int n, Action<ChangeEvent> publish)
    {
        for (int i = 0; i < n; i++)
        {
            publish(_held[i].First);
            if (_held[i].Second is { } s)
                publish(s);
        }
        _held.RemoveRange(0, n);
    }

    private void PlaceDirectoryMove(Held move, RelPath? from, RelPath to)
    {
        // Before the last event that created, removed or moved B (or a parent of it), a name below B was either this
        // directory's, before an earlier rename from B to A (then named correctly either way), or another directory's:
        // whether such an event happened there or was misnamed cannot be told, so the order is not to be trusted.
        int boundary = _held.FindLastIndex(h => h.Places(to));
        if (boundary >= 0 && !_held[boundary].MovesBack(to, from) && _held.FindIndex(0, boundary, h => h.NamedBelow(to)) >= 0)
        {
            _held.Add(move);
            Overflowed = true;
            OverflowReason = $"{move.First}: {_held[boundary].First} {_held[boundary].Second} before it";
            return;
        }
        int at = _held.FindIndex(boundary + 1, h => h.NamedBelow(to));
        if (at < 0)
        {
            _held.Add(move);
            return;
        }
        for (int i = at; i < _held.Count; i++)
        {
            if (_held[i].Entangles(from))
            {
                _held.Add(move);
                Overflowed = true;
                OverflowReason = $"{move.First}: {_held[i].First} {_held[i].Second} entangled";
                return;
            }
        }
        if (from is { } f)
        {
            for (int i = at; i < _held.Count; i++)
                _held[i] = _held[i].Rebased(f, to);
        }
        _held.Insert(at, move);
    }

    private readonly record struct Held(ChangeEvent First, RelPath? Dir, ChangeEvent? Second, RelPath? SecondDir, long Batch)
    {
        /// <summary>Named through a directory at or below <paramref name="to"/>: misnamed, if a rename to it follows.</summary>
        public bool NamedBelow(RelPath to) => Dir is { } d && d.IsUnder(to) || SecondDir is { } d2 && d2.IsUnder(to);

        /// <summary>The directory rename B → A: the one now renamed A → B was called B before it.</summary>
        public bool MovesBack(RelPath to, RelPath? from) =>
            from is { } f && First is { Kind: ChangeKind.MovedFrom, IsDirectory: true } a && a.Path == to && Second is { } b && b.Path == f;

        /// <summary>Creates, removes or moves <paramref name="to"/> or a directory above it.</summary>
        public bool Places(RelPath to) => Places(First, to) || (Second is { } s && Places(s, to));

        /// <summary>
        /// True when a rename from A, moved back before this event (not misnamed itself, named after <see cref="Places"/>
        /// of B), would not commute with it: it creates, removes or moves a directory above A, or moves something to A.
        /// </summary>
        public bool Entangles(RelPath? from) =>
            from is { } f && (Entangles(First, Dir, f) || (Second is { } s && Entangles(s, SecondDir, f)));

        private static bool Structural(ChangeEvent e) =>
            e.Kind is ChangeKind.Created or ChangeKind.Deleted or ChangeKind.MovedFrom or ChangeKind.MovedTo;

        private static bool Places(ChangeEvent e, RelPath to) => Structural(e) && !e.Path.IsRoot && to.IsUnder(e.Path);

        private static bool Entangles(ChangeEvent e, RelPath? dir, RelPath from)
        {
            if (dir is null || !Structural(e))
                return false;
            var p = e.Path;
            return (from.IsUnder(p) && p != from) || (p == from && e.Kind == ChangeKind.MovedTo);
        }

        public Held Rebased(RelPath from, RelPath to) => this with
        {
            First = Rebase(First, from, to),
            Dir = Rebase(Dir, from, to),
            Second = Second is { } s ? Rebase(s, from, to) : null,
            SecondDir = Rebase(SecondDir, from, to),
        };

        private static ChangeEvent Rebase(ChangeEvent e, RelPath from, RelPath to) =>
            e.Path.IsUnder(from) && !e.Path.IsRoot ? e with { Path = e.Path.Rebase(from, to) } : e;

        private static RelPath? Rebase(RelPath? p, RelPath from, RelPath to) =>
            p is { } v && v.IsUnder(from) ? v.Rebase(from, to) : p;
    }
}
