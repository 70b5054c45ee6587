using Understudy.Agent.Events;
using Understudy.Agent.Source;
using Understudy.Core.Jobs;
using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Replication;

/// <summary>
/// Sends queue records over one session, reading the source as it is now (records name paths,
/// not content). An Upsert of a path that is gone is skipped: its removal has its own later
/// record. A file at or above <see cref="MirrorEngine.DeltaMinSize"/> goes as a block delta against the
/// target's copy. A multiply linked file is sent once and its other names are linked to it
/// (<see cref="HardLinkNames"/>). Files sent are remembered (path → inode) so that a rename whose
/// source name was reused before it was sent is followed by a re-send of the destination.
/// </summary>
internal sealed partial class ReplicationSender : IDisposable
{
    private const int MaxRemembered = 100_000;

    private readonly JobDefinition _job;
    private readonly SourceSession _session;
    private readonly EventLog _events;
    private readonly TimeProvider _time;
    private readonly FsTree?[] _trees;
    private readonly MirrorEngine _engine;
    private readonly Dictionary<(int, RelPath), (ulong Dev, ulong Ino)> _sent = [];
    private readonly HardLinkNames _linkNames = new();
    private readonly Dictionary<(int Root, RelPath Path), (ulong Dev, ulong Ino)> _pushed = [];
    private readonly HashSet<(int Root, RelPath Path)> _dirty = [];

    public ReplicationSender(JobDefinition job, SourceSession session, EventLog events, TimeProvider time)
    {
        _job = job;
        _session = session;
        _events = events;
        _time = time;
        _trees = new FsTree?[job.Roots.Count];
        _engine = new MirrorEngine(job, session, events, new MirrorProgress(MirrorMode.Checksum, time));
    }

    public long OpsSent { get; private set; }

    private FsTree? Tree(int root)
    {
        if (root >= _trees.Length)
            return null;
        try
        {
            return _trees[root] ??= FsTree.Open(_job.Roots[root].Path, create: false);
        }
        catch (PosixException)
        {
            return null; // the root is gone: RootGone handling re-mirrors when it is back
        }
    }

    /// <summary>Why the target cannot take this path (<see cref="ReceiverLimits.PathProblem"/>), or null: such an entry
    /// is left out like an excluded one (never named in an operation: the target would end the session on it).</summary>
    private string? Unprotectable(int root, RelPath p) => p.IsRoot ? null : ReceiverLimits.PathProblem(Target(root, p));

    private bool Excluded(int root, RelPath p, bool isDir)
    {
        if (p.IsRoot)
            return false;
        if (FsTree.IsReserved(p) || Unprotectable(root, p) is not null || _job.IsExcluded(p, isDir))
            return true; // the first: a source root's work directory, which a restore made
        for (var a = p.Parent; !a.IsRoot; a = a.Parent)
        {
            if (_job.IsExcluded(a, true))
                return true;
        }
        return false;
    }

    /// <param name="seq">The record's queue sequence number (<see cref="Acknowledged"/> is told when the target has it).</param>
    public async Task SendAsync(ReplicationRecord r, long seq, CancellationToken ct)
    {
        _recordSeq = seq;
        await SendRecordAsync(r, ct);
        if (_engine.Vanished.Count > 0)
            NoteVanished(_engine.Vanished);
    }

    private OpTrace Trace => _events.Trace;

    private async Task SendRecordAsync(ReplicationRecord r, CancellationToken ct)
    {
        OpsSent++;
        if (Trace.On)
        {
            Trace.Write(_job.Name, $"sends record {r.Kind} {r.Root}:{r.Path}{(r.Kind == RecordKind.Rename ? $" -> {r.To}" : "")}"
                + $"{(r.Inode is { } i ? $" inode {i.Ino}" : "")} queued {r.QueuedAtNs}{(r.Kind == RecordKind.Upsert && r.Inode is null && ReadSince(r) ? " (read since: skipped)" : "")}");
        }
        // A directory's metadata is read when sent, so one DirMeta after the last change in it is enough: DirMeta
        // records join the directories touched (_dirty) and go at the next barrier (FlushDirMetasAsync). A rename
        // carries the pending ones below it to their new names. The set is bounded: when full, it goes now.
        if (_dirty.Count >= MaxRemembered)
            await FlushDirMetasAsync(ct);
        ForgetTreesReadBefore(r.QueuedAtNs);
        switch (r.Kind)
        {
            case RecordKind.Upsert:
                if (r.Inode is null && ReadSince(r))
                    break;
                long began = NowNs();
                await UpsertAsync(r.Root, r.Path, recursive: false, allowLink: true, ct);
                if (r.Inode is { } inode)
                    await UpsertOtherNameAsync(r.Root, r.Path, inode, r.QueuedAtNs, ct);
                else
                    NoteRead(r.Root, r.Path, began);
                break;
            case RecordKind.UpsertTree:
                await UpsertAsync(r.Root, r.Path, recursive: true, allowLink: true, ct);
                break;
            case RecordKind.Delete:
                ForgetReads(r.Root, r.Path, r.IsDirectory);
                _job.Unprotected.RemoveUnder(Target(r.Root, r.Path));
                if (!r.Path.IsRoot && !Excluded(r.Root, r.Path, r.IsDirectory))
                {
                    Forget(r.Root, r.Path, r.IsDirectory);
                    ForgetGone(r.Root, r.Path);
                    await _session.SendAsync(new DeleteOp(Target(r.Root, r.Path)), ct);
                    Touch(r.Root, r.Path);
                }
                break;
            case RecordKind.Rename:
                await RenameAsync(r, ct);
                break;
            case RecordKind.DirMeta:
                _dirty.Add((r.Root, r.Path));
                break;
        }
    }

    private async Task RenameAsync(ReplicationRecord r, CancellationToken ct)
    {
        ForgetReads(r.Root, r.Path, r.IsDirectory);
        ForgetReads(r.Root, r.To, r.IsDirectory);
        _job.Unprotected.RemoveUnder(Target(r.Root, r.Path)); // what was not protected there moved: sent again below if it may be
        bool fromOut = Excluded(r.Root, r.Path, r.IsDirectory);
        bool toOut = Excluded(r.Root, r.To, r.IsDirectory);
        if (fromOut || toOut)
        {
            ForgetGone(r.Root, r.Path);
            if (!fromOut)
            {
                await _session.SendAsync(new DeleteOp(Target(r.Root, r.Path)), ct);
                Touch(r.Root, r.Path);
            }
            if (!toOut)
                await UpsertAsync(r.Root, r.To, recursive: true, allowLink: false, ct);
            else if (Unprotectable(r.Root, r.To) is { } why && Tree(r.Root)?.Lstat(r.To) is not null)
                _engine.NoteUnprotected(Target(r.Root, r.To), why);
            return;
        }
        await _session.SendAsync(new RenameOp(Target(r.Root, r.Path), Target(r.Root, r.To)), ct);
        NoteRenameSent(Target(r.Root, r.Path), Target(r.Root, r.To));
        _linkNames.Renamed(r.Root, r.Path, r.To, r.IsDirectory);
        if (r.IsDirectory)
            RebaseDirty(r.Root, r.Path, r.To);
        Touch(r.Root, r.Path);
        Touch(r.Root, r.To);
        bool known = _sent.Remove((r.Root, r.Path), out var inode);
        if (known)
            _linkNames.Touched(inode); // a multiply linked file's name moved: what it carries there is checked once caught up
        Forget(r.Root, r.To, r.IsDirectory);
        var tree = Tree(r.Root);
        var now = tree?.Lstat(r.To);
        if (!r.IsDirectory && now is { Kind: EntryKind.File, LinkCount: > 1 } linked)
        {
            // The target's copy of the renamed name may be older than what went to the file's other names ahead of the
            // queue: the group is checked once the queue is sent, and its content sent again unless known to be current.
            _linkNames.Suspect((linked.Device, linked.Inode), r.Root, r.To);
        }
        if (known && now is { } st && (st.Device, st.Inode) != inode)
        {
            // What we sent under the old name was a newer file that reused it; the renamed file was never sent.
            await UpsertAsync(r.Root, r.To, recursive: true, allowLink: false, ct);
        }
        else if (known && now is { } s2)
        {
            _sent[(r.Root, r.To)] = (s2.Device, s2.Inode);
        }
        await ResendGoneAsync(r.Root, r.Path, r.To, ct);
        await ResendPushedAsync(r.Root, r.To, ct);
        await ResendMovedOutAsync(r, ct);
        if (r.IsDirectory)
            await DirMetaAsync(r.Root, r.To, ct);
    }

    /// <summary>
    /// Brings these paths (and everything below them) up to date on the target as they are now, by a difference mirror
    /// of them: what the target lacks or has differently is sent, what the source no longer has is removed. The fallback
    /// when the target could not apply a change there (ApplyFailed NotFound: a replay after a cut, or a tree that
    /// changed under the operation) or the order of its changes is in doubt.
    /// </summary>
    public async Task ResyncAsync(IReadOnlyList<(int Root, RelPath Path)> paths, CancellationToken ct)
    {
        var scopes = paths.Where(p => Tree(p.Root) is not null && !Excluded(p.Root, p.Path, false)).ToList();
        if (scopes.Count == 0)
            return;
        if (Trace.On)
            Trace.Write(_job.Name, $"resyncs by a difference mirror: {string.Join(", ", scopes.Select(s => $"{s.Root}:{s.Path}"))}");
        foreach (var (root, path) in scopes)
            Forget(root, path, isDirectory: true);
        // Sent as they are now, like a tree upserted whole: a subdirectory moved out before, by a rename still queued,
        // is not in the send (convergence seed 5012: a tree moved in and renamed was resynced under its new name, and a
        // subdirectory renamed out of it earlier was carried on as the stub a queued rename into it had made).
        long began = NowNs();
        foreach (var (root, path) in scopes)
        {
            if (!path.IsRoot && Tree(root)?.Lstat(path) is { Kind: EntryKind.Directory })
                NoteTreeRead(root, path, began);
        }
        var engine = new MirrorEngine(_job with { DeleteOrphans = true }, _session, _events, new MirrorProgress(MirrorMode.Different, _time));
        await engine.ResyncAsync(scopes, ct);
        NoteVanished(engine.Vanished);
        foreach (var (root, path, inode) in engine.LinkedBeyondScope)
            _linkNames.Suspect(inode, root, path);
        foreach (var (root, path) in scopes)
            Touch(root, path);
        await FlushDirMetasAsync(ct);
    }

    private void Forget(int root, RelPath path, bool isDirectory)
    {
        if (!isDirectory)
        {
            _sent.Remove((root, path));
            return;
        }
        if (_sent.Count == 0)
            return;
        foreach (var k in _sent.Keys.Where(k => k.Item1 == root && k.Item2.IsUnder(path)).ToList())
            _sent.Remove(k);
    }

    /// <summary>
    /// <paramref name="path"/> was created, replaced, removed or renamed on the target, which moved its directory's
    /// mtime there: the directory's metadata goes again at <see cref="FlushDirMetasAsync"/> unless a DirMeta of it
    /// comes after this. Records carry the DirMetas of their batch, but what a record sends beyond its own path (links
    /// of the other names, re-sends after a rename) lands after them.
    /// </summary>
    private void Touch(int root, RelPath path)
    {
        if (!path.IsRoot)
            _dirty.Add((root, path.Parent));
    }

    /// <summary>Directories below a renamed one whose metadata is pending are now under its new name.</summary>
    private void RebaseDirty(int root, RelPath from, RelPath to)
    {
        if (_dirty.Count == 0)
            return;
        foreach (var k in _dirty.Where(d => d.Root == root && d.Path.IsUnder(from)).ToList())
        {
            _dirty.Remove(k);
            _dirty.Add((root, k.Path.Rebase(from, to)));
        }
    }

    /// <summary>
    /// Sends the metadata of every directory touched since its last DirMeta, deepest first. Called before every
    /// barrier, so a barrier never covers a DirMeta record not sent. On the target a directory's metadata can only be
    /// set once the files pending in it are published (flush + syncfs), so sending it once per barrier instead of
    /// once per coalesced batch saves a syncfs per batch.
    /// </summary>
    public async Task FlushDirMetasAsync(CancellationToken ct)
    {
        while (_dirty.Count > 0)
        {
            foreach (var (root, dir) in _dirty.OrderByDescending(d => d.Path.Length).ToList())
                await DirMetaAsync(root, dir, ct);
        }
    }

    private async Task DirMetaAsync(int root, RelPath path, CancellationToken ct)
    {
        _dirty.Remove((root, path));
        if (Tree(root) is not { } tree)
            return;
        var now = tree.Lstat(path);
        if (now is null)
            NoteGone(root, path, Gone.DirMeta);
        if (now is not { Kind: EntryKind.Directory } st || Excluded(root, path, true))
            return;
        await _session.SendAsync(new SetMetadataOp(Target(root, path), Meta(st), _engine.ReadXattrs(tree, path, Target(root, path))), ct);
    }

    private static EntryMeta Meta(StatInfo st) => new(st.Mode, st.Uid, st.Gid, st.MtimeNs);

    private static FileEntry Entry(RelPath p, StatInfo st, byte[]? link = null) =>
        new(p, st.Kind!.Value, st.Mode, st.Uid, st.Gid, st.Size, st.MtimeNs, link, st.Inode, st.Device, st.LinkCount, CtimeNs: st.CtimeNs);

    /// <summary>Sends the current state of one entry (and, when <paramref name="recursive"/>, all below it).</summary>
    public async Task UpsertAsync(int root, RelPath path, bool recursive, bool allowLink, CancellationToken ct)
    {
        if (Tree(root) is not { } tree)
            return;
        if (Unprotectable(root, path) is { } why)
        {
            // Not looked up: a path longer than PATH_MAX cannot be. Its Delete, or a rename of it, takes it off the list.
            if (!Excluded(root, path.Parent, true) && !_job.IsExcluded(path, false))
                _engine.NoteUnprotected(Target(root, path), why);
            return;
        }
        var now = tree.Lstat(path);
        if (now is null)
            NoteGone(root, path, recursive ? Gone.UpsertTree : Gone.Upsert);
        if (now is not { Kind: not null } st || Excluded(root, path, st.Kind == EntryKind.Directory))
            return;
        _gone.Remove((root, path));
        if (st.Kind != EntryKind.Directory)
        {
            await SendEntryAsync(tree, root, Entry(path, st), allowLink, ct);
            return;
        }
        if (!path.IsRoot)
        {
            await _session.SendAsync(new MakeDirectory(Target(root, path), Meta(st), _engine.ReadXattrs(tree, path, Target(root, path))), ct);
            Touch(root, path);
        }
        if (!recursive)
        {
            if (path.IsRoot)
                await DirMetaAsync(root, path, ct);
            return;
        }
        if (!path.IsRoot)
            NoteTreeRead(root, path, NowNs());
        var dirs = new List<RelPath> { path };
        foreach (var e in JobWalk.Included(_job, tree, path, _job.Roots[root].TargetPrefix, (_, _) => { }, onUnprotected: _engine.NoteUnprotected))
        {
            if (e.Path == path)
                continue;
            if (e.Kind == EntryKind.Directory)
            {
                dirs.Add(e.Path);
                await _session.SendAsync(new MakeDirectory(Target(root, e.Path), EntryMeta.From(e), _engine.ReadXattrs(tree, e.Path, Target(root, e.Path))), ct);
                Touch(root, e.Path);
            }
            else
            {
                await SendEntryAsync(tree, root, e, allowLink, ct);
            }
        }
        for (int i = dirs.Count - 1; i >= 0; i--)
            await DirMetaAsync(root, dirs[i], ct);
    }

    private async Task SendEntryAsync(FsTree tree, int root, FileEntry e, bool allowLink, CancellationToken ct)
    {
        var tp = Target(root, e.Path);
        if (e.Kind == EntryKind.Symlink)
        {
            byte[] link;
            try
            {
                link = tree.ReadLink(e.Path);
            }
            catch (PosixException)
            {
                return;
            }
            await _session.SendAsync(new SymlinkOp(tp, link, EntryMeta.From(e)), ct);
            Touch(root, e.Path);
            return;
        }
        var key = (e.Device, e.Inode);
        if (e.LinkCount <= 1)
        {
            if (Trace.On)
                Trace.Write(_job.Name, $"sends content of {e.Path} (inode {e.Inode}, size {e.Size}, mtime {e.MtimeNs})");
            await SendContentAsync(tree, e, tp, ct);
            Touch(root, e.Path);
            Remember(root, e.Path, key);
            return;
        }
        // A multiply linked file: a change made through this name is a change of every name. A new name of an inode
        // whose content the target has as it is now needs only a link; otherwise the content goes to this name and
        // every other name is linked to it again (the target's temp + rename gave this name a new inode).
        var what = HardLinkNames.Of(e, _engine.ReadXattrs(tree, e.Path, tp));
        if (allowLink && _linkNames.Current(key, e.Path, what, Tree, () => ContentHash(tree, e)) is { } current)
        {
            if (Trace.On)
                Trace.Write(_job.Name, $"links {e.Path} to {current.Path}, which has inode {e.Inode}'s content (size {e.Size}, links {e.LinkCount})");
            await _session.SendAsync(new HardLinkOp(tp, Target(current.Root, current.Path)), ct);
            Touch(root, e.Path);
            _linkNames.Add(key, root, e.Path);
            _linkNames.Touched(key);
            Remember(root, e.Path, key);
            NotePushed(root, e.Path, key);
            return;
        }
        // Hashed before the content is read for sending: a change made meanwhile then differs from the hash too.
        var hash = ContentHash(tree, e);
        if (Trace.On)
            Trace.Write(_job.Name, $"sends content of {e.Path} (inode {e.Inode}, size {e.Size}, links {e.LinkCount}, mtime {e.MtimeNs})");
        await SendContentAsync(tree, e, tp, ct);
        Touch(root, e.Path);
        Remember(root, e.Path, key);
        _linkNames.SetCurrent(key, root, e.Path, what, hash);
        foreach (var (r, other) in _linkNames.Others(root, e, Tree, _job.Roots.Count, Excluded))
        {
            if (Trace.On)
                Trace.Write(_job.Name, $"links other name {other} to {e.Path}");
            await _session.SendAsync(new HardLinkOp(Target(r, other), tp), ct);
            Touch(r, other); // linked through a temporary name there: that directory's mtime moved
            Remember(r, other, key);
            NotePushed(r, other, key);
        }
    }

    /// <summary>
    /// A change to a multiply linked file, made through a name that is gone now (or holds another file): the change
    /// is the inode's, so it goes to one of the names it still has (content there, the others linked to it again).
    /// </summary>
    private async Task UpsertOtherNameAsync(int root, RelPath path, (ulong Dev, ulong Ino) inode, long? queuedAtNs, CancellationToken ct)
    {
        if (Tree(root)?.Lstat(path) is { } st && (st.Device, st.Inode) == inode)
            return; // sent under this name, with every other name
        var any = _linkNames.AnyName(inode, Tree, _job.Roots.Count, Excluded, queuedAtNs, NowNs());
        if (Trace.On)
            Trace.Write(_job.Name, $"a change of inode {inode.Ino} through {path}, which no longer holds it: {(any is { } o ? $"sent as {o.Path}" : "no other name in the job")}");
        if (any is { } other)
        {
            await UpsertAsync(other.Root, other.Path, recursive: false, allowLink: false, ct);
            if (!other.Path.IsRoot)
                await DirMetaAsync(other.Root, other.Path.Parent, ct);
            NotePushed(other.Root, other.Path, inode);
        }
    }

    /// <summary>
    /// The inode's current content went to this name as the source names it now, which may be ahead of the queue: a
    /// rename onto the name still in it would bring the target's old copy back (<see cref="ResendPushedAsync"/>).
    /// </summary>
    private void NotePushed(int root, RelPath path, (ulong Dev, ulong Ino) inode)
    {
        if (_pushed.Count >= MaxRemembered)
            _pushed.Clear();
        _pushed[(root, path)] = inode;
    }

    /// <summary>After a rename onto a name <see cref="UpsertOtherNameAsync"/> sent content to: send it again.</summary>
    private async Task ResendPushedAsync(int root, RelPath to, CancellationToken ct)
    {
        if (_pushed.Count == 0)
            return;
        foreach (var (k, inode) in _pushed.Where(p => p.Key.Root == root && p.Key.Path.IsUnder(to)).ToList())
        {
            _pushed.Remove(k);
            if (Tree(root)?.Lstat(k.Path) is { } st && (st.Device, st.Inode) == inode)
            {
                await UpsertAsync(root, k.Path, recursive: false, allowLink: false, ct);
                NotePushed(root, k.Path, inode); // ahead of the queue again: a rename still queued may land on it too
            }
        }
    }

    /// <summary>
    /// The content hash <see cref="HardLinkNames"/> compares when only the ctime says a multiply linked file changed
    /// (a new link changes it too). Small files only: a big one goes as a delta instead, which costs about the same read.
    /// </summary>
    private static UInt128? ContentHash(FsTree tree, FileEntry e)
    {
        if (e.Size >= MirrorEngine.DeltaMinSize)
            return null;
        try
        {
            return Mirror.ManifestScan.HashFile(tree, e.Path);
        }
        catch (PosixException)
        {
            return null;
        }
    }

    private Task SendContentAsync(FsTree tree, FileEntry e, RelPath tp, CancellationToken ct) =>
        e.Size >= MirrorEngine.DeltaMinSize ? _engine.SendDeltaAsync(tree, e, tp, ct) : _engine.SendFileAsync(tree, e, tp, ct);

    private void Remember(int root, RelPath path, (ulong, ulong) key)
    {
        if (_sent.Count >= MaxRemembered)
            _sent.Clear();
        _sent[(root, path)] = key;
    }

    public void Dispose()
    {
        foreach (var t in _trees)
            t?.Dispose();
    }
}
