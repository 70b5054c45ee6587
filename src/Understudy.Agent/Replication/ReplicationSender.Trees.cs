using Understudy.Core.Paths;

namespace Understudy.Agent.Replication;

internal sealed partial class ReplicationSender
{
    /// <summary>How long after a tree was read a rename queued from below it is still taken as possibly made before the
    /// read (events are queued a little after they happen).</summary>
    private static readonly long TreeReadMarginNs = TimeSpan.FromSeconds(5).Ticks * 100;

    /// <summary>Directories sent whole as they were when read (path → when the read began), ahead of the queue.</summary>
    private readonly Dictionary<(int Root, RelPath Path), long> _treesRead = [];

    /// <summary>
    /// A directory was sent whole, as it is now: a subdirectory moved out of it before that, by a rename still queued,
    /// was not in the send, and what the target holds at the rename's old name may not be what the source moved: a
    /// target killed after it made a tree's directories but before it published the tree's files keeps the
    /// directories only, and the replay's rename then carried that empty skeleton to the new name (convergence seed
    /// 3059: files missing for good). <see cref="ResendMovedOutAsync"/> sends such a rename's new name again.
    /// </summary>
    private void NoteTreeRead(int root, RelPath path, long beganNs)
    {
        if (_treesRead.Count >= MaxRemembered)
            _treesRead.Clear();
        _treesRead[(root, path)] = beganNs;
    }

    /// <summary>Records queued well after a tree was read describe changes made after it: that read needs no more care.</summary>
    private void ForgetTreesReadBefore(long? queuedAtNs)
    {
        if (_treesRead.Count == 0 || queuedAtNs is not { } q)
            return;
        foreach (var (k, began) in _treesRead.ToList())
        {
            if (began + TreeReadMarginNs < q)
                _treesRead.Remove(k);
        }
    }

    /// <summary>
    /// After a rename from → to: when from lay below a directory sent whole after the rename may have been made, the
    /// target's copy that the rename moved is not known to be complete, so the new name is sent again as it is now
    /// (a difference that is only a re-send when the copy was right). Trees read below or at a renamed directory
    /// follow it to its new name.
    /// </summary>
    private async Task ResendMovedOutAsync(ReplicationRecord r, CancellationToken ct)
    {
        // Moved out of a tree whose UpsertTree was skipped as gone: that tree was never sent, and what the rename carried
        // is whatever the target held at the old name, a stub at best (a rename into the tree made the directory there
        // without its files). The resync that follows the tree to its new name no longer finds the subdirectory in it
        // (ChurnTests seed 3001: a directory of a tree moved in from outside and renamed at once, then moved out of it,
        // kept only the subdirectory a rename had put in it: its own files were missing for good).
        bool movedOut = _gone.Any(g => g.Key.Root == r.Root && (g.Value & Gone.UpsertTree) != 0 && r.Path != g.Key.Path && r.Path.IsUnder(g.Key.Path));
        if (_treesRead.Count == 0 && !movedOut)
            return;
        foreach (var ((root, tree), began) in _treesRead.ToList())
        {
            if (root != r.Root)
                continue;
            if (r.Path != tree && r.Path.IsUnder(tree) && (r.QueuedAtNs is not { } q || q <= began + TreeReadMarginNs))
                movedOut = true;
            if (r.IsDirectory && tree.IsUnder(r.Path))
            {
                _treesRead.Remove((root, tree));
                _treesRead[(root, tree.Rebase(r.Path, r.To))] = began;
            }
        }
        if (movedOut)
        {
            if (Trace.On)
                Trace.Write(_job.Name, $"sends {r.To} again: moved out of a tree sent as it is now or skipped as gone, from {r.Path}");
            await UpsertAsync(r.Root, r.To, recursive: true, allowLink: false, ct);
        }
    }
}
