using Understudy.Core.Paths;

namespace Understudy.Agent.Replication;

internal sealed partial class ReplicationSender
{
    /// <summary>How many recent renames are kept; failures come back within one round trip, long before this fills.</summary>
    private const int RenamesKept = 4096;

    private readonly Queue<(RelPath From, RelPath To)> _renamesSent = new();

    /// <summary>Remembers a rename sent (target paths), for <see cref="LaterNames"/>.</summary>
    private void NoteRenameSent(RelPath from, RelPath to)
    {
        if (_renamesSent.Count >= RenamesKept)
            _renamesSent.Dequeue();
        _renamesSent.Enqueue((from, to));
    }

    /// <summary>
    /// The names a target path may have now, through the renames this sender sent (in order) after some earlier point.
    /// An ApplyFailed comes back a round trip after its operation was sent; records sent meanwhile may have renamed a
    /// directory above the failed path, and a resync of the old name alone then finds nothing on either side and leaves
    /// the target's stale copy under the new name (seed 203 of the convergence test: a directory renamed onto a
    /// non-empty one, then its parent renamed). Resyncing a name that was not affected costs a listing of it.
    /// </summary>
    public IReadOnlyCollection<RelPath> LaterNames(RelPath targetPath)
    {
        var names = new HashSet<RelPath> { targetPath };
        foreach (var (from, to) in _renamesSent)
        {
            foreach (var n in names.Where(n => n.IsUnder(from)).ToList())
                names.Add(n.Rebase(from, to));
        }
        return names;
    }
}
