using Understudy.Core.Paths;
using static Understudy.Agent.Replication.Capture.Interop.Fanotify;

namespace Understudy.Agent.Replication.Capture;

internal sealed partial class FanotifyWatcher
{
    protected override void OnKernelData(ReadOnlySpan<byte> data)
    {
        while (FanotifyRecord.TryRead(ref data, out var r))
        {
            if (r.Fd >= 0)
                Interop.Close(r.Fd); // fid mode reports FAN_NOFD; close anything else so it cannot leak
            if ((r.Mask & FAN_Q_OVERFLOW) != 0)
            {
                Sink.Publish(new ChangeEvent(ChangeKind.Overflow, RelPath.Root, true));
                continue;
            }
            Dispatch(ref r);
        }
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
            Sink.Publish(new ChangeEvent(ChangeKind.RootGone, RelPath.Root, true));
        if (!TryMap(dirAbs, r.Name, out var path, out bool self2))
            return;
        if (IsExcludedOrBelow(path))
            return;
        isDir |= self2;
        ulong m = r.Mask;
        if ((m & (FAN_DELETE | FAN_MOVED_FROM)) != 0 && isDir)
            _paths.Clear();
        // Merged events lose their order; what exists now tells whether the removal came first.
        bool removalFirst = (m & (FAN_DELETE | FAN_MOVED_FROM)) != 0 && (m & (FAN_CREATE | FAN_MOVED_TO)) != 0 && Exists(path);
        if (removalFirst)
            PublishRemovals(m, path, isDir);
        if ((m & FAN_CREATE) != 0)
            Sink.Publish(new ChangeEvent(ChangeKind.Created, path, isDir));
        if ((m & FAN_MOVED_TO) != 0)
            Sink.Publish(new ChangeEvent(ChangeKind.MovedTo, path, isDir));
        if ((m & FAN_MODIFY) != 0)
            Sink.Publish(new ChangeEvent(ChangeKind.Written, path, isDir));
        if ((m & FAN_CLOSE_WRITE) != 0)
            Sink.Publish(new ChangeEvent(ChangeKind.Modified, path, isDir));
        if ((m & FAN_ATTRIB) != 0)
            Sink.Publish(new ChangeEvent(ChangeKind.Attributes, path, isDir));
        if (!removalFirst)
            PublishRemovals(m, path, isDir);
    }

    private void PublishRemovals(ulong mask, RelPath path, bool isDir)
    {
        if ((mask & FAN_MOVED_FROM) != 0)
            Sink.Publish(new ChangeEvent(ChangeKind.MovedFrom, path, isDir));
        if ((mask & FAN_DELETE) != 0)
            Sink.Publish(new ChangeEvent(ChangeKind.Deleted, path, isDir));
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
                Sink.Publish(new ChangeEvent(ChangeKind.RootGone, RelPath.Root, true));
        }
        uint cookie = fromIn && toIn ? NextCookie() : 0;
        if (fromIn)
            Sink.Publish(new ChangeEvent(ChangeKind.MovedFrom, from, isDir, cookie));
        if (toIn)
            Sink.Publish(new ChangeEvent(ChangeKind.MovedTo, to, isDir, cookie));
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
            fd = Interop.Open(p, Interop.O_PATH | Interop.O_NOFOLLOW | Interop.O_CLOEXEC);
        if (fd < 0)
            return false;
        Interop.Close(fd);
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
