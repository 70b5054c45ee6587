using Understudy.Core.Manifest;
using Understudy.Core.Paths;

namespace Understudy.Agent.Replication;

internal sealed partial class ReplicationSender
{
    private const int MaxGone = 100_000;

    /// <summary>Records skipped because their path was gone when they were sent, until a later record explains where it went.</summary>
    private readonly Dictionary<(int Root, RelPath Path), Gone> _gone = [];

    /// <summary>
    /// Entries <see cref="ResendGoneAsync"/> took off <see cref="_gone"/>, with the queue record whose rename did. Until
    /// the target acknowledges that record the next session may replay it, and the replay must send them again: they go
    /// back into <see cref="Remembered"/> (convergence seed 3092: a file made in a directory renamed before the file's
    /// Upsert was sent; the target died after making the Upsert durable and before the rename, and the replayed rename
    /// no longer knew the file had been skipped — it was missing for good). Oldest first.
    /// </summary>
    private readonly Queue<(long Seq, (int Root, RelPath Path) Key, Gone What)> _goneResent = new();

    /// <summary>The queue sequence number of the record being sent (0: not a queue record).</summary>
    private long _recordSeq;

    /// <summary>When the record being sent was queued (0: not known).</summary>
    private long _recordQueuedNs;

    /// <summary>
    /// When the records behind the Upserts in <see cref="_gone"/> were queued (the earliest per path; none known: 0). The
    /// change such a record stood for was made before that and at most a coalescer's hold and the capture's lag earlier.
    /// A difference mirror compares size and mtime only, and a file rewritten at its size with its old mtime put back
    /// looks sent: while such skipped changes wait for the rename that explains them, a resync sends every file in its
    /// scope changed since then whatever the comparison says (<see cref="GoneChangesSinceNs"/>; convergence seed 513 on a
    /// loaded machine: the rename that moved the file's directory had gone before its Upsert, which then waited in vain).
    /// </summary>
    private readonly Dictionary<(int Root, RelPath Path), long> _goneQueued = [];

    /// <summary>The longest a change is taken to take from being made to being queued: the longest hold a job may set
    /// (<c>replication.max_hold</c>, 60 s) and half a minute of capture lag under load.</summary>
    private static readonly long GoneChangeLagNs = TimeSpan.FromSeconds(90).Ticks * 100;

    [Flags]
    internal enum Gone
    {
        Upsert = 1,
        UpsertTree = 2,
        DirMeta = 4,
    }

    /// <summary>
    /// An Upsert or DirMeta whose path is gone is skipped: it was deleted (its Delete follows) or renamed, it or a
    /// directory above it. A rename carries the target's old copy to the new name, so the change the skipped record
    /// stood for (a write just before a rename of the file or of its directory, a directory made just before its
    /// parent was renamed) must follow it there: <see cref="ResendGoneAsync"/>.
    /// </summary>
    private void NoteGone(int root, RelPath path, Gone what)
    {
        if (path.IsRoot)
            return;
        if (_gone.Count >= MaxGone)
        {
            _gone.Clear();
            _goneQueued.Clear();
        }
        _gone[(root, path)] = _gone.GetValueOrDefault((root, path)) | what;
        // Only a queue record's skip stands for a change: a file a mirror listed and found gone has its own records.
        if ((what & (Gone.Upsert | Gone.UpsertTree)) != 0 && _recordSeq > 0)
            _goneQueued[(root, path)] = _goneQueued.TryGetValue((root, path), out long t) ? Math.Min(t, _recordQueuedNs) : _recordQueuedNs;
    }

    /// <summary>The resync's <see cref="MirrorEngine.ChangedSinceNs"/>: with file changes skipped as gone still waiting,
    /// files changed since a little before the earliest was queued are sent whatever size and mtime say; null: none waits.</summary>
    private long? GoneChangesSinceNs()
    {
        long? since = null;
        foreach (var (k, t) in _goneQueued)
        {
            if (_gone.ContainsKey(k))
                since = since is { } s ? Math.Min(s, t) : t;
        }
        return since is { } e ? Math.Max(0, e - GoneChangeLagNs) : null;
    }

    /// <summary>Files a mirror (or this sender's reads) found gone when it came to send them: as if their Upserts were skipped.</summary>
    public void NoteVanished(List<RelPath> targetPaths)
    {
        foreach (var tp in targetPaths)
        {
            if (TryMapTarget(tp, out int root, out var path))
                NoteGone(root, path, Gone.Upsert);
        }
        targetPaths.Clear();
    }

    /// <summary>A delete, or a move out of the job: whatever was skipped at or below the path is gone for good.</summary>
    private void ForgetGone(int root, RelPath path)
    {
        if (_gone.Count == 0)
            return;
        foreach (var k in _gone.Keys.Where(k => k.Root == root && k.Path.IsUnder(path)).ToList())
        {
            _gone.Remove(k);
            _goneQueued.Remove(k);
        }
    }

    /// <summary>After a rename from → to: re-sends, under their new names, the records skipped at or below <paramref name="from"/>.</summary>
    private async Task ResendGoneAsync(int root, RelPath from, RelPath to, CancellationToken ct)
    {
        if (_gone.Count == 0)
            return;
        var moved = _gone.Where(g => g.Key.Root == root && g.Key.Path.IsUnder(from)).ToList();
        foreach (var (k, what) in moved)
        {
            _gone.Remove(k);
            // Gone again under the new name, it keeps the time of the change it stands for, not the rename's.
            if (_goneQueued.Remove(k, out long queued))
                _goneQueued[(root, k.Path.Rebase(from, to))] = queued;
            if (_recordSeq > 0)
                _goneResent.Enqueue((_recordSeq, k, what));
        }
        while (_goneResent.Count > MaxGone)
            _goneResent.Dequeue();
        // A tree skipped whole: what the rename carried to the new name is whatever the target held at the old one, which
        // may be a stale or partial copy (a target killed while it received the tree keeps its directories; with inotify
        // a subdirectory moved out of the tree before its watch was placed is never reported). Sending the tree again
        // adds what it lacks but removes nothing, so each such tree is brought to the source's state by a difference
        // mirror of it, which also removes what the source no longer has there (inotify pass of
        // ReplicationShapeTests.TreeMovedIn_TargetHasOnlyItsDirectories_…: a stale subdirectory stayed for good).
        // Only a tree the source has under its new name now: one renamed again since is gone here too, and a difference
        // mirror of it would remove the target's copy that the later rename is to carry; it is sent (as gone) as before.
        var trees = moved.Where(g => (g.Value & Gone.UpsertTree) != 0).Select(g => g.Key.Path.Rebase(from, to))
            .Where(t => Tree(root)?.Lstat(t) is { Kind: EntryKind.Directory }).ToList();
        var scopes = trees.Where(t => !trees.Any(o => o != t && t.IsUnder(o))).Distinct().Select(t => (root, t)).ToList();
        foreach (var (k, what) in moved)
        {
            var now = k.Path.Rebase(from, to);
            if ((what & (Gone.Upsert | Gone.UpsertTree)) != 0 && !scopes.Any(s => now.IsUnder(s.t)))
                await UpsertAsync(root, now, recursive: (what & Gone.UpsertTree) != 0, allowLink: true, ct);
        }
        if (scopes.Count > 0)
        {
            if (Trace.On)
                Trace.Write(_job.Name, $"resyncs {string.Join(", ", scopes.Select(s => s.t))}: trees skipped under their old names");
            await ResyncAsync(scopes, ct);
            // The difference mirror compares size and mtime: a file rewritten at its size with its old mtime put back
            // looks sent. A file whose own Upsert was skipped changed after the target's copy was made, so it goes
            // whatever the comparison said (fresh convergence seed 593202836: the target kept the older content).
            foreach (var (k, what) in moved)
            {
                var now = k.Path.Rebase(from, to);
                if ((what & Gone.Upsert) != 0 && (what & Gone.UpsertTree) == 0 && scopes.Any(s => now.IsUnder(s.t)))
                    await UpsertAsync(root, now, recursive: false, allowLink: true, ct);
            }
        }
        foreach (var (k, _) in moved.Where(g => (g.Value & Gone.DirMeta) != 0).OrderByDescending(g => g.Key.Path.Length))
            await DirMetaAsync(root, k.Path.Rebase(from, to), ct);
    }

    /// <summary>The target has made every queue record up to <paramref name="seq"/> durable: what their renames re-sent
    /// stays sent.</summary>
    public void Acknowledged(long seq)
    {
        while (_goneResent.TryPeek(out var e) && e.Seq <= seq)
            _goneResent.Dequeue();
    }

    /// <summary>What is skipped as gone, with what renames not yet acknowledged re-sent (<see cref="_goneResent"/>).</summary>
    private Dictionary<(int Root, RelPath Path), Gone> GoneToRemember()
    {
        var gone = new Dictionary<(int Root, RelPath Path), Gone>(_gone);
        foreach (var (_, k, what) in _goneResent)
            gone[k] = gone.GetValueOrDefault(k) | what;
        return gone;
    }
}
