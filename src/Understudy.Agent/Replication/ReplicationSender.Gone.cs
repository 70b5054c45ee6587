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
            _gone.Clear();
        _gone[(root, path)] = _gone.GetValueOrDefault((root, path)) | what;
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
            _gone.Remove(k);
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
