using System.Buffers.Binary;
using Understudy.Core.Paths;
using static Understudy.Agent.Replication.Capture.Interop.Inotify;

namespace Understudy.Agent.Replication.Capture;

internal sealed partial class InotifyWatcher
{
    /// <summary>Directories moved away whose IN_MOVED_TO has not been read yet, by cookie.</summary>
    private readonly Dictionary<uint, PendingMove> _pendingMoves = [];
    private int _batch;

    private readonly record struct PendingMove(RelPath From, int Batch);

    protected override void OnKernelData(ReadOnlySpan<byte> data)
    {
        _batch++;
        // struct inotify_event { int wd; u32 mask; u32 cookie; u32 len; char name[len]; } (name NUL-padded)
        while (data.Length >= EventHeaderSize)
        {
            int wd = BinaryPrimitives.ReadInt32LittleEndian(data);
            uint mask = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
            uint cookie = BinaryPrimitives.ReadUInt32LittleEndian(data[8..]);
            int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(data[12..]);
            if (data.Length < EventHeaderSize + len)
                break; // the kernel never splits an event; defensive only
            var name = data.Slice(EventHeaderSize, len);
            int nul = name.IndexOf((byte)0);
            if (nul >= 0)
                name = name[..nul];
            // rename(2) queues its IN_MOVED_FROM and IN_MOVED_TO back to back: any other event after a directory's
            // IN_MOVED_FROM says it went where no watch reports it (out of the root, or into a directory not watched
            // yet, whose listing will report it there). Its watches are dropped now: left in place they would report
            // the moved tree's changes under the old name the unpaired IN_MOVED_FROM already called gone.
            if (_pendingMoves.Count > 0 && !((mask & IN_MOVED_TO) != 0 && _pendingMoves.ContainsKey(cookie)))
                FinishPendingMoves(all: true);
            Dispatch(wd, mask, cookie, name);
            data = data[(EventHeaderSize + len)..];
        }
        // A pair is queued back to back; one whose IN_MOVED_FROM ended the read waits for the next read's first event
        // (or for the queue seen empty: OnIdle).
        FinishPendingMoves(all: false);
        NoteSetup();
    }

    private void Dispatch(int wd, uint mask, uint cookie, ReadOnlySpan<byte> name)
    {
        if ((mask & IN_Q_OVERFLOW) != 0)
        {
            _lastNamed = null;
            Sink.Publish(new ChangeEvent(ChangeKind.Overflow, RelPath.Root, true));
            return;
        }
        if (DispatchFile(wd, mask))
            return;
        _lastNamed = null;
        if ((mask & IN_IGNORED) != 0)
        {
            if (_table.Remove(wd) && wd != _rootWd)
                Progress.AddWatched(-1);
            if (wd == _rootWd)
                Sink.Publish(new ChangeEvent(ChangeKind.RootGone, RelPath.Root, true));
            return;
        }
        if (!_table.TryGetPath(wd, out var dir))
            return; // a watch we already dropped (moved out, deleted)
        bool isDir = (mask & IN_ISDIR) != 0;
        if (name.IsEmpty)
        {
            DispatchSelf(wd, mask, dir);
            return;
        }
        if (!RelPath.IsValidName(name))
            return;
        var path = dir.Append(name);
        if ((mask & IN_MOVED_TO) != 0)
        {
            // Pairing comes before the exclusion check: a directory moved into an excluded name is a move out.
            OnMovedTo(path, isDir, cookie);
            return;
        }
        if ((mask & IN_MOVED_FROM) != 0)
        {
            if (isDir)
                _pendingMoves[cookie] = new PendingMove(path, _batch);
            if (!Excluded(path))
                Sink.Publish(new ChangeEvent(ChangeKind.MovedFrom, path, isDir, cookie));
            return;
        }
        if (Excluded(path))
            return;
        if (!isDir && (mask & (IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB)) != 0)
            _lastNamed = (path, mask);
        if ((mask & IN_CREATE) != 0)
        {
            // link(2) made a new name: the file has two now, and a change made through it before its watch was placed
            // is known by this event only.
            var inode = isDir ? null : WatchIfLinked(path);
            Sink.Publish(new ChangeEvent(ChangeKind.Created, path, isDir, Inode: inode));
            if (isDir)
            {
                Progress.AddSeen(1);
                _fresh.Enqueue(new SetupItem(path, true));
            }
        }
        if ((mask & IN_MODIFY) != 0)
            Sink.Publish(new ChangeEvent(ChangeKind.Written, path, isDir));
        if ((mask & IN_CLOSE_WRITE) != 0)
            Sink.Publish(new ChangeEvent(ChangeKind.Modified, path, isDir));
        if ((mask & IN_ATTRIB) != 0)
            Sink.Publish(new ChangeEvent(ChangeKind.Attributes, path, isDir));
        if ((mask & IN_DELETE) != 0)
        {
            Sink.Publish(new ChangeEvent(ChangeKind.Deleted, path, isDir));
            if (isDir)
                ForgetSubtree(path, removeWatches: false); // the kernel drops those watches itself (IN_IGNORED)
        }
    }

    /// <summary>Events about a watched directory itself. Its parent's watch reports the same change with a name, so
    /// only the root's own events matter.</summary>
    private void DispatchSelf(int wd, uint mask, RelPath dir)
    {
        if (wd != _rootWd)
            return;
        if ((mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)) != 0)
            Sink.Publish(new ChangeEvent(ChangeKind.RootGone, dir, true));
        else if ((mask & IN_ATTRIB) != 0)
            Sink.Publish(new ChangeEvent(ChangeKind.Attributes, dir, true));
    }

    private void OnMovedTo(RelPath path, bool isDir, uint cookie)
    {
        bool excluded = Excluded(path);
        if (isDir && _pendingMoves.Remove(cookie, out var from))
        {
            if (excluded)
                ForgetSubtree(from.From, removeWatches: true);
            else
                RenameDirectory(from.From, path);
        }
        else if (isDir && !excluded)
        {
            // Moved in from outside the root (or from an excluded name): a whole new subtree to watch and report.
            Progress.AddSeen(1);
            _fresh.Enqueue(new SetupItem(path, true));
        }
        if (!excluded)
        {
            if (!isDir)
                WatchIfLinked(path);
            Sink.Publish(new ChangeEvent(ChangeKind.MovedTo, path, isDir, cookie));
        }
    }

    private void RenameDirectory(RelPath from, RelPath to)
    {
        bool known = _table.Rebase(from, to) > 0;
        _fresh = RebaseQueue(_fresh, from, to);
        _initial = RebaseQueue(_initial, from, to);
        RebaseUnwatched(from, to);
        var vanished = _vanished;
        _vanished = [];
        foreach (var item in vanished)
        {
            if (item.Path.IsUnder(from))
                (item.Report ? _fresh : _initial).Enqueue(item with { Path = item.Path.Rebase(from, to) });
            else
                _vanished.Add(item);
        }
        if (!known)
            _fresh.Enqueue(new SetupItem(to, true)); // renamed before we got to watch it
    }

    private void FinishPendingMoves(bool all)
    {
        if (_pendingMoves.Count == 0)
            return;
        foreach (var (cookie, move) in _pendingMoves.ToArray())
        {
            if (all || move.Batch < _batch)
            {
                _pendingMoves.Remove(cookie);
                ForgetSubtree(move.From, removeWatches: true);
            }
        }
    }

    /// <summary>Stops following a subtree that left the root (or was deleted).</summary>
    private void ForgetSubtree(RelPath path, bool removeWatches)
    {
        foreach (int wd in _table.RemoveSubtree(path))
        {
            Progress.AddWatched(-1);
            if (removeWatches)
                RmWatch(_fd, wd);
        }
        _fresh = RebaseQueue(_fresh, path, null);
        _initial = RebaseQueue(_initial, path, null);
        _vanished.RemoveAll(i => i.Path.IsUnder(path));
        ForgetUnwatched(path);
    }
}
