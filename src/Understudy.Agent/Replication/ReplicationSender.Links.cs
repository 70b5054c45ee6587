using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Replication;

internal sealed partial class ReplicationSender
{
    /// <summary>True while a multiply linked file sent earlier may have names the target has not linked yet.</summary>
    public bool LinksInDoubt => _linkNames.HasSuspects;

    /// <summary>
    /// What this sender knows that the queue does not say, for the sender of the next session: the replay after a
    /// reconnect sends the records the target had not made durable, and what this sender did while sending them or
    /// the ones before (content sent ahead of the queue to a file's current name, records skipped because their path
    /// was gone, files sent under a name a later rename moves, hard-link groups to check) is needed to send them right
    /// again. A fresh sender knew none of it: a queued rename replayed after a target kill carried the target's old
    /// copy over content sent ahead (convergence seed 2207), and a recheck's links were lost (2003, 2031).
    /// Over-remembering costs only a send more; forgetting lost changes.
    /// </summary>
    internal sealed record Memory(
        Dictionary<(int, RelPath), (ulong Dev, ulong Ino)> Sent,
        Dictionary<(int Root, RelPath Path), Gone> Gone,
        Dictionary<(int Root, RelPath Path), (ulong Dev, ulong Ino)> Pushed,
        List<((ulong Dev, ulong Ino) Key, int Root, RelPath Path)> LinkDoubts);

    public Memory Remembered() => new(new(_sent), GoneToRemember(), new(_pushed), _linkNames.Doubts());

    public void Inherit(Memory m)
    {
        foreach (var (k, v) in m.Sent)
            _sent.TryAdd(k, v);
        foreach (var (k, v) in m.Gone)
            _gone[k] = _gone.GetValueOrDefault(k) | v;
        foreach (var (k, v) in m.Pushed)
            _pushed.TryAdd(k, v);
        _linkNames.Inherit(m.LinkDoubts);
    }

    /// <summary>What the rechecks sent is durable on the target.</summary>
    public void ConfirmRechecks() => _linkNames.Confirm();

    /// <summary>
    /// Once the queue is sent: every multiply linked file sent, linked or renamed since the last time, and every one whose
    /// names did not add up to its link count when it was sent (the walk that looks for them ran while directories were
    /// renamed), is looked at again, and each name it has now is linked to the name whose content the target has
    /// (convergence seeds 301 and 304: a hard link left as a separate copy on the target; 730, 740, 745: a queued
    /// rename carried an old copy over a name linked ahead of the queue). When that name is gone or the file changed
    /// since, its content goes again to a name it has, and the others are linked to it. Returns true when anything was
    /// sent (the caller then sends a barrier).
    /// </summary>
    public async Task<bool> RecheckLinksAsync(CancellationToken ct)
    {
        bool sent = false;
        foreach (var (key, root, path) in _linkNames.TakeSuspects())
        {
            var tree = Tree(root);
            if (Trace.On)
                Trace.Write(_job.Name, $"rechecks the names of inode {key.Ino}, last sent as {path}");
            _linkNames.ForgetWalk(key); // names the last walk found may have moved since: walk again if they do not add up
            if (tree?.Lstat(path) is not { Kind: EntryKind.File } st || (st.Device, st.Inode) != key)
            {
                if (_linkNames.AnyName(key, Tree, _job.Roots.Count, Excluded, changedAtNs: null, NowNs()) is { } any)
                {
                    await UpsertAsync(any.Root, any.Path, recursive: false, allowLink: false, ct);
                    sent = true;
                }
                continue;
            }
            var entry = Entry(path, st);
            if (_linkNames.SentAsItIs(key, HardLinkNames.Of(entry, _engine.ReadXattrs(tree, path, Target(root, path))), () => ContentHash(tree, entry)) is null)
            {
                await UpsertAsync(root, path, recursive: false, allowLink: false, ct);
                sent = true;
                continue;
            }
            foreach (var (r, other) in _linkNames.Others(root, entry, Tree, _job.Roots.Count, Excluded))
            {
                if (Trace.On)
                    Trace.Write(_job.Name, $"links other name {other} to {path} (recheck)");
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
