using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Posix;

namespace Understudy.Agent.Replication;

/// <summary>
/// The sender's knowledge of the names of multiply linked files: which names of the job share an inode, and
/// whether the target holds the inode's current content under one of them. A write, truncate, chmod, chown or
/// xattr change made through one name changes every name, but the kernel reports only the one used, so the
/// sender needs all of them (<see cref="ReplicationSender"/>: content to one name, the others re-linked to it).
/// </summary>
/// <remarks>
/// Names are hints, checked with lstat before use: renames and deletions make them stale, and a stale name
/// forces a fresh walk. A walk of the roots is the fallback when the known names do not add up to the link
/// count; it indexes every multiply linked file it meets, and is not repeated for an inode whose link count has
/// not changed since (names outside the job, or excluded, count in the link count but are never found).
/// </remarks>
internal sealed class HardLinkNames
{
    private const int MaxInodes = 100_000;

    private readonly Dictionary<(ulong Dev, ulong Ino), HashSet<(int Root, RelPath Path)>> _names = [];
    private readonly Dictionary<(ulong Dev, ulong Ino), uint> _walkedAtLinkCount = [];
    private readonly Dictionary<(ulong Dev, ulong Ino), Sent> _current = [];
    private readonly Dictionary<(ulong Dev, ulong Ino), long> _searched = [];

    /// <summary>
    /// What was sent for an inode: the name the target has its content under, what it looked like then, and a hash
    /// of its content taken before it was read for sending (null for a big file).
    /// </summary>
    private readonly record struct Sent(int Root, RelPath Path, Fingerprint What, UInt128? Hash);

    /// <summary>
    /// Everything of an inode a name can carry to the target, and its ctime: a write that keeps the size and puts
    /// the old mtime back changes only the ctime (and the content). So does a new link, which is why a ctime that
    /// moved alone is settled by the content hash (<see cref="Current"/>).
    /// </summary>
    public readonly record struct Fingerprint(long Size, long MtimeNs, uint Mode, uint Uid, uint Gid, int XattrHash, long CtimeNs);

    public static Fingerprint Of(FileEntry st, IReadOnlyList<Xattr>? xattrs)
    {
        var h = new HashCode();
        foreach (var x in xattrs ?? [])
        {
            h.AddBytes(x.Name);
            h.Add(0);
            h.AddBytes(x.Value);
        }
        return new Fingerprint(st.Size, st.MtimeNs, st.Mode, st.Uid, st.Gid, h.ToHashCode(), st.CtimeNs);
    }

    public void Add((ulong, ulong) key, int root, RelPath path)
    {
        if (_names.Count >= MaxInodes && !_names.ContainsKey(key))
            Clear();
        if (!_names.TryGetValue(key, out var set))
            _names[key] = set = [];
        set.Add((root, path));
    }

    /// <summary>The content of <paramref name="key"/>, as <paramref name="what"/>, is now on the target under this name.</summary>
    public void SetCurrent((ulong, ulong) key, int root, RelPath path, Fingerprint what, UInt128? hash)
    {
        Add(key, root, path);
        _current[key] = new Sent(root, path, what, hash);
        _touched.Add(key);
    }

    private readonly HashSet<(ulong Dev, ulong Ino)> _touched = [];

    /// <summary>
    /// A rename was sent: on the target, what was at <paramref name="from"/> is now at <paramref name="to"/>, and what
    /// was at <paramref name="to"/> is gone. Content this sender put at <paramref name="to"/> ahead of the queue was
    /// replaced by the target's older copy (convergence seed 2311: a file renamed onto a hard link's name; the recheck
    /// then linked the other name to the old copy too), so it no longer counts as sent; content sent under
    /// <paramref name="from"/> moved with the name. The file's other names were linked to the replaced copy: the group is
    /// checked once the queue is sent (seed 2441: a directory moved in, its tree sent ahead, then a queued rename of
    /// another directory onto a name above the file split its group on the target).
    /// </summary>
    public void Renamed(int root, RelPath from, RelPath to, bool isDirectory)
    {
        foreach (var (key, sent) in _current.ToList())
        {
            if (sent.Root != root)
                continue;
            if (sent.Path == to || (isDirectory && sent.Path.IsUnder(to) && !sent.Path.IsUnder(from)))
            {
                _current.Remove(key);
                _suspects.TryAdd(key, (root, sent.Path));
            }
            else if (isDirectory ? sent.Path.IsUnder(from) : sent.Path == from)
                _current[key] = sent with { Path = sent.Path.Rebase(from, to) };
        }
    }

    /// <summary>This name of the inode is to be checked once the queue is sent (<see cref="TakeSuspects"/>).</summary>
    public void Suspect((ulong, ulong) key, int root, RelPath path) => _suspects.TryAdd(key, (root, path));

    /// <summary>
    /// A name of this inode was sent, linked or renamed: once the queue is sent, every name it has then is linked again to
    /// the name the target has its content under (<see cref="TakeSuspects"/>). Links and content go with the names the
    /// source has when they are sent, ahead of the queue; renames still queued then may carry an older copy of the file
    /// over one of them (convergence seeds 730, 740, 745: a name left separate, or with old content, on the target).
    /// </summary>
    public void Touched((ulong, ulong) key)
    {
        if (_current.ContainsKey(key))
            _touched.Add(key);
    }

    /// <summary>What the target holds for this inode, as sent: null when unknown or when it changed since.</summary>
    public (int Root, RelPath Path)? SentAsItIs((ulong Dev, ulong Ino) key, Fingerprint what, Func<UInt128?> hashNow)
    {
        if (!_current.TryGetValue(key, out var sent))
            return null;
        if (sent.What != what && (sent.What with { CtimeNs = what.CtimeNs } != what || sent.Hash is not { } h || hashNow() != h))
            return null;
        return (sent.Root, sent.Path);
    }

    /// <summary>
    /// A name under which the target has the inode's content as it is now (<paramref name="what"/>), other than
    /// <paramref name="path"/>: a new name then needs only a link to it. When only the ctime moved since, the content
    /// is hashed (<paramref name="hashNow"/>) and must be what was sent.
    /// </summary>
    public (int Root, RelPath Path)? Current((ulong Dev, ulong Ino) key, RelPath path, Fingerprint what, Func<int, FsTree?> tree,
        Func<UInt128?> hashNow)
    {
        if (!_current.TryGetValue(key, out var sent) || sent.Path == path)
            return null;
        if (sent.What != what && (sent.What with { CtimeNs = what.CtimeNs } != what || sent.Hash is not { } h || hashNow() != h))
            return null;
        if (tree(sent.Root)?.Lstat(sent.Path) is not { } st || st.Inode != key.Ino || st.Device != key.Dev)
        {
            _current.Remove(key);
            return null;
        }
        _current[key] = sent with { What = what };
        return (sent.Root, sent.Path);
    }

    /// <summary>Every other name of the inode of <paramref name="e"/> in the job, checked now.</summary>
    public List<(int Root, RelPath Path)> Others(int root, FileEntry e, Func<int, FsTree?> tree, int roots, Func<int, RelPath, bool, bool> excluded)
    {
        var key = (e.Device, e.Inode);
        var found = Known(key, root, e.Path, tree, out bool stale);
        if (found.Count + 1 < e.LinkCount && (stale || !_walkedAtLinkCount.TryGetValue(key, out uint n) || n != e.LinkCount))
        {
            Walk(tree, roots, excluded);
            _walkedAtLinkCount[key] = e.LinkCount;
            found = Known(key, root, e.Path, tree, out _);
            // A walk made while the tree changes can miss a name whose directory was being renamed as it passed:
            // checked again once the queue is sent (RecheckLinksAsync), when the tree has caught up with the queue.
            if (found.Count + 1 < e.LinkCount)
                _suspects[key] = (root, e.Path);
        }
        return found;
    }

    private readonly Dictionary<(ulong Dev, ulong Ino), (int Root, RelPath Path)> _suspects = [];

    /// <summary>
    /// Inodes whose names did not add up to their link count after a walk, or that were touched (<see cref="Touched"/>),
    /// with the name last sent for each.
    /// </summary>
    public bool HasSuspects => _suspects.Count > 0 || _touched.Count > 0;

    /// <summary>Takes the suspects (each is checked once: names outside the job count in the link count for ever).</summary>
    public List<((ulong Dev, ulong Ino) Key, int Root, RelPath Path)> TakeSuspects()
    {
        var all = _suspects.Select(s => (s.Key, s.Value.Root, s.Value.Path)).ToList();
        foreach (var key in _touched)
        {
            if (!_suspects.ContainsKey(key) && _current.TryGetValue(key, out var sent))
                all.Add((key, sent.Root, sent.Path));
        }
        _suspects.Clear();
        _touched.Clear();
        foreach (var a in all)
            _unconfirmed[a.Key] = (a.Root, a.Path);
        return all;
    }

    private readonly Dictionary<(ulong Dev, ulong Ino), (int Root, RelPath Path)> _unconfirmed = [];

    /// <summary>The links and content sent by the rechecks so far are durable on the target (a barrier after them was
    /// acknowledged).</summary>
    public void Confirm() => _unconfirmed.Clear();

    /// <summary>
    /// What a sender for the next session must check again: the suspects and touched inodes not checked yet, and those
    /// checked but not confirmed durable. The links a recheck sends go after the last queue record's barrier, so a
    /// target that dies or a link that is cut before the next barrier loses them, and the replay after the reconnect
    /// does not send them again (it only replays queue records): without this a name stayed separate, or with old
    /// content, on the target.
    /// </summary>
    public List<((ulong Dev, ulong Ino) Key, int Root, RelPath Path)> Doubts()
    {
        var all = new Dictionary<(ulong Dev, ulong Ino), (int Root, RelPath Path)>(_unconfirmed);
        foreach (var (key, name) in _suspects)
            all[key] = name;
        foreach (var key in _touched)
        {
            if (_current.TryGetValue(key, out var sent))
                all[key] = (sent.Root, sent.Path);
        }
        return all.Select(a => (a.Key, a.Value.Root, a.Value.Path)).ToList();
    }

    /// <summary>Doubts of an earlier sender (<see cref="Doubts"/>): checked once the queue is sent. This sender knows
    /// nothing sent for them, so each gets its content sent again and its names linked to it.</summary>
    public void Inherit(IEnumerable<((ulong Dev, ulong Ino) Key, int Root, RelPath Path)> doubts)
    {
        foreach (var (key, root, path) in doubts)
            _suspects.TryAdd(key, (root, path));
    }

    /// <summary>Forgets what the last walk found for an inode, so that the next need walks again.</summary>
    public void ForgetWalk((ulong, ulong) key) => _walkedAtLinkCount.Remove(key);

    /// <summary>
    /// Some name the inode has in the job now, or null. Walks the roots when no name is known, unless a walk for it
    /// that found nothing began at or after <paramref name="changedAtNs"/> (when the change was queued; null: always
    /// walk): the file left the job after the change then. A walk before it proves nothing: the inode number may belong
    /// to another file by now (numbers are reused as soon as a file is freed), or the file may have come back.
    /// </summary>
    public (int Root, RelPath Path)? AnyName((ulong Dev, ulong Ino) key, Func<int, FsTree?> tree, int roots, Func<int, RelPath, bool, bool> excluded,
        long? changedAtNs, long nowNs)
    {
        var found = Known(key, -1, default, tree, out _);
        if (found.Count == 0 && !(changedAtNs is { } since && _searched.TryGetValue(key, out long walked) && walked >= since))
        {
            Walk(tree, roots, excluded, key); // its other names may be gone too, leaving it with one
            found = Known(key, -1, default, tree, out _);
            // Only a walk that found nothing (the file left the job) is remembered: names found can be renamed away
            // later, and the next change through a removed name must find the file again (convergence seed 773).
            if (found.Count > 0)
            {
                _searched.Remove(key);
            }
            else
            {
                if (_searched.Count >= MaxInodes)
                    _searched.Clear();
                _searched[key] = nowNs;
            }
        }
        return found.Count > 0 ? found[0] : null;
    }

    public void Clear()
    {
        _suspects.Clear();
        _touched.Clear();
        _searched.Clear();
        _names.Clear();
        _walkedAtLinkCount.Clear();
        _current.Clear();
    }

    private List<(int Root, RelPath Path)> Known((ulong Dev, ulong Ino) key, int root, RelPath path, Func<int, FsTree?> tree, out bool stale)
    {
        stale = false;
        var result = new List<(int, RelPath)>();
        if (!_names.TryGetValue(key, out var set))
            return result;
        foreach (var n in set.ToList())
        {
            if (n == (root, path))
                continue;
            if (tree(n.Root)?.Lstat(n.Path) is { Kind: EntryKind.File } st && st.Inode == key.Ino && st.Device == key.Dev)
            {
                result.Add(n);
            }
            else
            {
                set.Remove(n);
                stale = true;
            }
        }
        return result;
    }

    private void Walk(Func<int, FsTree?> tree, int roots, Func<int, RelPath, bool, bool> excluded, (ulong Dev, ulong Ino)? wanted = null)
    {
        for (int r = 0; r < roots; r++)
        {
            if (tree(r) is not { } t)
                continue;
            foreach (var s in t.Walk(p => !excluded(r, p, false), (_, _) => { }))
            {
                if (s.Kind == EntryKind.File && (s.LinkCount > 1 || wanted == (s.Device, s.Inode)) && !excluded(r, s.Path, false))
                    Add((s.Device, s.Inode), r, s.Path);
            }
        }
    }
}
