using Microsoft.Extensions.Logging;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using static Understudy.Agent.Replication.Capture.Interop.Fanotify;

namespace Understudy.Agent.Replication.Capture;

internal sealed partial class FanotifyWatcher
{
    /// <summary>Room left in a read buffer that proves the kernel had no further event (the largest, a rename
    /// with two directory handles and names, takes well under this).</summary>
    private const int LargestEvent = 1024;

    /// <summary>Events named but not yet published: see <see cref="FanotifyEventOrder"/>.</summary>
    private readonly FanotifyEventOrder _order = new();
    private long _batch;

    /// <summary>Renames whose merging by the kernel would go unnoticed: see <see cref="FanotifyMergeCheck"/>.</summary>
    private readonly FanotifyMergeCheck _merges = new();

    protected override int IdleTimeoutMs => _order.Count > 0 || _merges.HasState ? 0 : -1;

    public override bool Settled => _order.Count == 0 && !_merges.HasState && Volatile.Read(ref _pendingCheck) is null;

    /// <summary>A comparison made while events arrived: it holds if none of them was about the root.</summary>
    private sealed record PendingCheck(string? Difference);

    private PendingCheck? _pendingCheck;
    private bool _heldAny;

    protected override void OnKernelData(ReadOnlySpan<byte> data)
    {
        _batch++;
        _heldAny = false;
        bool drained = data.Length <= ReadBufferSize - LargestEvent;
        while (FanotifyRecord.TryRead(ref data, out var r))
        {
            if (r.Fd >= 0)
                Libc.close(r.Fd); // fid mode reports FAN_NOFD; close anything else so it cannot leak
            if ((r.Mask & FAN_Q_OVERFLOW) != 0)
            {
                Hold(new ChangeEvent(ChangeKind.Overflow, RelPath.Root, true), null);
                continue;
            }
            Dispatch(ref r);
        }
        if (_pendingCheck is { } check)
        {
            // Other writers on this filesystem (the agent's own queue and log among them) keep the queue from being seen
            // empty; a comparison still holds when nothing read since was about the root.
            _pendingCheck = null;
            if (drained && !_heldAny)
                ActOnCheck(check.Difference);
        }
        // The queue was empty when this buffer was read, so every rename that could have misnamed an event of an
        // earlier read (named before this read) has now been placed.
        _order.ReleaseBefore(drained ? _batch : 0, Sink.Publish);
        PublishOrderOverflow();
        if (drained)
        {
            // Nothing unread is left for a later event to merge into.
            if (!_merges.AtRisk)
                _merges.Clear();
            else if (!_heldAny)
                _pendingCheck = new PendingCheck(_merges.FindDifference(HandleAt)); // (while renames go on, they would void it)
        }
        if (_merges.TooMany)
        {
            _merges.Clear();
            Logger?.LogWarning("fanotify: {Count}+ renames under {Root} without a quiet moment to check them; rescanning", FanotifyMergeCheck.MaxNames, Root);
            Sink.Publish(new ChangeEvent(ChangeKind.Overflow, RelPath.Root, true));
        }
    }

    /// <summary>poll found nothing to read after the held events were named: none can be misnamed any more.</summary>
    protected override void OnIdle()
    {
        // The check first: an overflow it finds then comes before the events held until now, not after them.
        CheckMerges();
        _order.ReleaseAll(Sink.Publish);
        PublishOrderOverflow();
    }

    /// <summary>The kernel queue is empty: nothing read can absorb a later event any more. When an old name of a rename
    /// came back meanwhile, compare the names with the disk first (see <see cref="FanotifyMergeCheck"/>).</summary>
    private void CheckMerges()
    {
        if (!_merges.HasState)
            return;
        if (!_merges.AtRisk)
        {
            _merges.Clear();
            return;
        }
        var difference = _merges.FindDifference(HandleAt);
        if (QueueEmpty())
            ActOnCheck(difference);
        else
            _pendingCheck = new PendingCheck(difference); // valid if what arrived meanwhile did not touch the root
    }

    private void ActOnCheck(string? difference)
    {
        _pendingCheck = null;
        _merges.Clear();
        if (difference is null)
            return;
        Logger?.LogWarning("fanotify merged away a rename under {Root} ({Difference}); rescanning", Root, difference);
        Sink.Publish(new ChangeEvent(ChangeKind.Overflow, RelPath.Root, true));
    }

    private unsafe bool QueueEmpty()
    {
        var pfd = new PollFd { Fd = _fd, Events = Libc.POLLIN };
        return Libc.poll(&pfd, 1, 0) == 0;
    }

    /// <summary>The file handle of what is at <paramref name="name"/> in the directory <paramref name="dirHandle"/> now, or null.</summary>
    private byte[]? HandleAt(byte[] dirHandle, byte[] name)
    {
        if (!_paths.TryResolve(dirHandle, out var dirAbs))
            return null;
        var path = new byte[dirAbs.Length + 1 + name.Length + 1];
        dirAbs.CopyTo(path, 0);
        path[dirAbs.Length] = (byte)'/';
        name.CopyTo(path, dirAbs.Length + 1);
        return TryHandleOf(path);
    }

    /// <summary>
    /// The changed file's inode when the change is not only this name's: the file has other names, or this name no
    /// longer holds it (removed since, while another name keeps it alive). Null for an ordinary file, or when the
    /// kernel gave no handle of the file or the file is gone altogether.
    /// </summary>
    private unsafe (ulong Dev, ulong Ino)? SharedInode(ref FanotifyRecord r)
    {
        if (r.ObjectHandle.IsEmpty)
            return null;
        int fd;
        fixed (byte* h = r.ObjectHandle)
            fd = OpenByHandleAt(_mountFd, h, Libc.O_PATH | Libc.O_CLOEXEC);
        if (fd < 0)
            return null;
        StatInfo st;
        using (var sfd = new SafeFd(fd))
        {
            try
            {
                st = Sys.Fstat(sfd, "changed file");
            }
            catch (PosixException)
            {
                return null;
            }
        }
        if (st.LinkCount <= 1 && HandleAt(r.DirHandle.ToArray(), r.Name.ToArray()) is { } now && r.ObjectHandle.SequenceEqual(now))
            return null;
        return (st.Device, st.Inode);
    }

    private void PublishOrderOverflow()
    {
        if (!_order.Overflowed)
            return;
        _order.Overflowed = false;
        Logger?.LogWarning("fanotify: the order of changes around a directory rename under {Root} cannot be restored ({Reason}); rescanning", Root, _order.OverflowReason);
        Sink.Publish(new ChangeEvent(ChangeKind.Overflow, RelPath.Root, true));
    }

    private void Hold(ChangeEvent e, RelPath? dir)
    {
        _heldAny = true;
        _order.Add(e, dir, _batch);
    }

    private void Dispatch(ref FanotifyRecord r)
    {
        bool isDir = (r.Mask & FAN_ONDIR) != 0;
        if ((r.Mask & FAN_RENAME) != 0)
        {
            OnRename(ref r, isDir);
            return;
        }
        if (r.DirHandle.IsEmpty || !_paths.TryResolve(r.DirHandle, out var dirAbs))
            return;
        // The root's own removal is seen in its parent: self events (DELETE_SELF) are not reported to a
        // DFID_NAME filesystem mark for directories, as tried on this kernel.
        if (isDir && (r.Mask & (FAN_DELETE | FAN_MOVED_FROM)) != 0 && MovesRoot(dirAbs, r.Name))
            Hold(new ChangeEvent(ChangeKind.RootGone, RelPath.Root, true), null);
        if (!TryMap(dirAbs, r.Name, out var path, out bool self2))
            return;
        if (IsExcludedOrBelow(path))
            return;
        isDir |= self2;
        var dir = self2 ? path : path.Parent;
        ulong m = r.Mask;
        if ((m & (FAN_DELETE | FAN_MOVED_FROM)) != 0 && isDir)
            _paths.Clear();
        // Merged events lose their order; what exists now tells whether the removal came first.
        bool removalFirst = (m & (FAN_DELETE | FAN_MOVED_FROM)) != 0 && (m & (FAN_CREATE | FAN_MOVED_TO)) != 0 && Exists(path);
        if (!self2)
        {
            if (removalFirst)
                _merges.Vanished(r.DirHandle, r.Name);
            if ((m & (FAN_CREATE | FAN_MOVED_TO)) != 0)
                _merges.Appeared(r.DirHandle, r.Name, r.ObjectHandle);
            if (!removalFirst && (m & (FAN_DELETE | FAN_MOVED_FROM)) != 0)
                _merges.Vanished(r.DirHandle, r.Name);
        }
        if (removalFirst)
            HoldRemovals(m, path, dir, isDir);
        if ((m & FAN_CREATE) != 0)
            Hold(new ChangeEvent(ChangeKind.Created, path, isDir), dir);
        if ((m & FAN_MOVED_TO) != 0)
            Hold(new ChangeEvent(ChangeKind.MovedTo, path, isDir), dir);
        // A modification alone (truncate(2) by path, a file still open) says which file too: it waits to settle, and the
        // name it was made through may be gone by then (convergence seeds 2434, 2446).
        var inode = !isDir && (m & (FAN_MODIFY | FAN_CLOSE_WRITE | FAN_ATTRIB)) != 0 ? SharedInode(ref r) : null;
        if ((m & FAN_MODIFY) != 0)
            Hold(new ChangeEvent(ChangeKind.Written, path, isDir, Inode: inode), dir);
        if ((m & FAN_CLOSE_WRITE) != 0)
            Hold(new ChangeEvent(ChangeKind.Modified, path, isDir, Inode: inode), dir);
        if ((m & FAN_ATTRIB) != 0)
            Hold(new ChangeEvent(ChangeKind.Attributes, path, isDir, Inode: inode), dir);
        if (!removalFirst)
            HoldRemovals(m, path, dir, isDir);
    }

    private void HoldRemovals(ulong mask, RelPath path, RelPath dir, bool isDir)
    {
        if ((mask & FAN_MOVED_FROM) != 0)
            Hold(new ChangeEvent(ChangeKind.MovedFrom, path, isDir), dir);
        if ((mask & FAN_DELETE) != 0)
            Hold(new ChangeEvent(ChangeKind.Deleted, path, isDir), dir);
    }

    private void OnRename(ref FanotifyRecord r, bool isDir)
    {
        bool fromIn = false, toIn = false;
        RelPath from = default, to = default;
        byte[]? oldDirAbs = null;
        if (!r.DirHandle.IsEmpty && _paths.TryResolve(r.DirHandle, out oldDirAbs))
            fromIn = TryMap(oldDirAbs, r.Name, out from, out _) && !IsExcludedOrBelow(from);
        if (!r.NewDirHandle.IsEmpty && _paths.TryResolve(r.NewDirHandle, out var newDirAbs))
            toIn = TryMap(newDirAbs, r.NewName, out to, out _) && !IsExcludedOrBelow(to);
        if (isDir)
        {
            _paths.Clear();
            if (oldDirAbs is not null && MovesRoot(oldDirAbs, r.Name))
                Hold(new ChangeEvent(ChangeKind.RootGone, RelPath.Root, true), null);
        }
        if (fromIn || toIn)
            _merges.Renamed(r.DirHandle, r.Name, r.NewDirHandle, r.NewName, r.ObjectHandle);
        uint cookie = fromIn && toIn ? NextCookie() : 0;
        var movedFrom = new ChangeEvent(ChangeKind.MovedFrom, from, isDir, cookie);
        var movedTo = new ChangeEvent(ChangeKind.MovedTo, to, isDir, cookie);
        if (fromIn && toIn)
        {
            _heldAny = true;
            _order.Add(movedFrom, from.Parent, _batch, movedTo, to.Parent);
        }
        else if (fromIn)
            Hold(movedFrom, from.Parent);
        else if (toIn)
            Hold(movedTo, to.Parent);
    }

    /// <summary>Joins a resolved directory and an entry name and maps it under the root.</summary>
    private bool TryMap(byte[] dirAbs, ReadOnlySpan<byte> name, out RelPath path, out bool self)
    {
        self = name.IsEmpty || name.SequenceEqual("."u8);
        if (!Root.TryRelative(dirAbs, out var dir))
        {
            path = default;
            return false;
        }
        if (self)
        {
            path = dir;
            return true;
        }
        if (!RelPath.IsValidName(name) || dir.Length + 1 + name.Length > RelPath.MaxLength)
        {
            path = default;
            return false;
        }
        path = dir.Append(name);
        return true;
    }

    /// <summary>True when the entry <paramref name="name"/> in <paramref name="dirAbs"/> is the root or one of its ancestors.</summary>
    private bool MovesRoot(byte[] dirAbs, ReadOnlySpan<byte> name)
    {
        var moved = new byte[dirAbs.Length + 1 + name.Length];
        dirAbs.CopyTo(moved, 0);
        int at = dirAbs.Length;
        if (at != 1)
            moved[at++] = (byte)'/';
        name.CopyTo(moved.AsSpan(at));
        var m = moved.AsSpan(0, at + name.Length);
        var root = Root.Bytes.AsSpan();
        return root.StartsWith(m) && (root.Length == m.Length || root[m.Length] == (byte)'/');
    }

    /// <summary>A filesystem mark sees below excluded directories too (inotify simply has no watch there).</summary>
    private bool IsExcludedOrBelow(RelPath path)
    {
        for (var p = path; !p.IsRoot; p = p.Parent)
        {
            if (Excluded(p))
                return true;
        }
        return false;
    }

    private unsafe bool Exists(RelPath path)
    {
        var abs = Root.Absolute(path);
        int fd;
        fixed (byte* p = abs)
            fd = Libc.open(p, Libc.O_PATH | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0);
        if (fd < 0)
            return false;
        Libc.close(fd);
        return true;
    }

    private uint NextCookie()
    {
        _nextCookie++;
        if (_nextCookie == 0)
            _nextCookie = 1;
        return _nextCookie;
    }
}
