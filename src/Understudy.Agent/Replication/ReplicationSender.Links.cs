using Understudy.Core.Manifest;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Replication;

internal sealed partial class ReplicationSender
{
    /// <summary>True while a multiply linked file sent earlier may have names the target has not linked yet.</summary>
    public bool LinksInDoubt => _linkNames.HasSuspects;

    /// <summary>
    /// Once the queue is sent: every multiply linked file whose names did not add up to its link count when it was sent
    /// (the walk that looks for them ran while directories were renamed) is looked for again, and each name found is
    /// linked to the name whose content the target has (convergence seeds 301 and 304: a hard link left as a separate
    /// copy on the target). Returns true when anything was sent (the caller then sends a barrier).
    /// </summary>
    public async Task<bool> RecheckLinksAsync(CancellationToken ct)
    {
        bool sent = false;
        foreach (var (key, root, path) in _linkNames.TakeSuspects())
        {
            if (Tree(root)?.Lstat(path) is not { Kind: EntryKind.File } st || (st.Device, st.Inode) != key)
                continue; // changed since: its own record sends it again with every name it has then
            _linkNames.ForgetWalk(key);
            var entry = Entry(path, st);
            foreach (var (r, other) in _linkNames.Others(root, entry, Tree, _job.Roots.Count, Excluded))
            {
                await _session.SendAsync(new HardLinkOp(Target(r, other), Target(root, path)), ct);
                Touch(r, other);
                Remember(r, other, key);
                sent = true;
            }
        }
        _linkNames.TakeSuspects(); // a second walk short again: names outside the job, not a race
        return sent;
    }
}
