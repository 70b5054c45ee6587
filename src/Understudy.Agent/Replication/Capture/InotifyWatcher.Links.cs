using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using static Understudy.Agent.Replication.Capture.Interop.Inotify;

namespace Understudy.Agent.Replication.Capture;

/// <summary>
/// Multiply linked files carry their inode in their change events, as with fanotify (<see cref="ChangeEvent.Inode"/>).
/// </summary>
/// <remarks>
/// <para>A directory watch reports a change under the name it was made through only, and nothing tells which file that
/// name held once it is removed: a write through one name of a hard-linked file followed by that name's removal
/// would never reach the other names. So every file seen with more than one link (in a listing, or created or moved
/// in) gets a watch of its own: inotify watches are per inode, so the file's watch reports a change through any of
/// its names, and the kernel queues it right after the directory's named event of the same change. That pair gives
/// the name and the inode together; the name may be gone by the time anyone looks.</para>
/// <para>Race-free as new directories are: a change made before the file's watch was placed is covered by the
/// Created (or moved-in) record of the name that gave the file its second link, which is sent as the file is then,
/// or, for files that existed before, by the comparison after <see cref="IChangeWatcher.Ready"/>. That Created event
/// carries the inode the name held when it was read: the name may be gone by the time its record is queued (the
/// pipeline's own lookup comes a batch later), and the change then belongs to the file's other names. A file watch costs
/// one inotify watch per multiply linked inode (not per name) and is dropped by the kernel with the inode.</para>
/// <para>A file watch's IN_ATTRIB without a named event just before it is a link count change (a link or unlink:
/// the kernel reports that to the inode only), not a change of the file, and is ignored.</para>
/// </remarks>
internal sealed partial class InotifyWatcher
{
    private const uint FileMask = IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_DONT_FOLLOW | IN_MASK_ADD;

    /// <summary>File watches: wd → the inode it follows.</summary>
    private readonly Dictionary<int, (ulong Dev, ulong Ino)> _files = [];

    /// <summary>The last event dispatched, when it named a file's content or attribute change (else null).</summary>
    private (RelPath Path, uint Mask)? _lastNamed;

    /// <summary>
    /// Gives <paramref name="path"/> a watch of its own when it is a file with more than one link. Stat, watch, stat
    /// again: the watch is recorded only when both stats saw the same file (a name replaced meanwhile is left out).
    /// Returns the inode the first stat saw (null: not a multiply linked file, or gone), for the name's Created event.
    /// </summary>
    private (ulong Dev, ulong Ino)? WatchIfLinked(RelPath path)
    {
        var abs = Root.Absolute(path);
        if (LinkedFile(abs) is not { } before)
            return null;
        int wd = AddFileWatch(abs, out int errno);
        if (wd < 0)
        {
            if (errno == Libc.ENOSPC)
                OnWatchFailed(new SetupItem(path, false), errno, directory: false);
            return before; // gone or replaced since: its parent's events tell the story
        }
        if (!_table.TryGetPath(wd, out _) && LinkedFile(abs) == before)
            _files[wd] = before; // else a directory (or another file) took the name between the calls
        return before;
    }

    /// <summary>Dispatches an event of a file watch: true when <paramref name="wd"/> is one.</summary>
    private bool DispatchFile(int wd, uint mask)
    {
        if (!_files.TryGetValue(wd, out var inode))
            return false;
        if ((mask & IN_IGNORED) != 0)
        {
            _files.Remove(wd);
            return true;
        }
        // The directory's event of the same change comes just before; it carries the name (see the remarks).
        // A modification alone (truncate(2) by path, a file still open) waits to settle, and its name may be gone by then.
        if (_lastNamed is { } named && (named.Mask & mask & (IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB)) != 0)
        {
            var kind = (mask & IN_CLOSE_WRITE) != 0 ? ChangeKind.Modified : (mask & IN_ATTRIB) != 0 ? ChangeKind.Attributes : ChangeKind.Written;
            Sink.Publish(new ChangeEvent(kind, named.Path, false, Inode: inode));
        }
        _lastNamed = null;
        return true;
    }

    private static unsafe (ulong Dev, ulong Ino)? LinkedFile(byte[] abs)
    {
        StatxBuf buf;
        int rc;
        fixed (byte* p = abs)
            rc = Libc.statx(Libc.AT_FDCWD, p, Libc.AT_SYMLINK_NOFOLLOW, Libc.STATX_BASIC_STATS, &buf);
        if (rc != 0)
            return null;
        var st = StatInfo.From(buf);
        return st is { Kind: EntryKind.File, LinkCount: > 1 } ? (st.Device, st.Inode) : null;
    }

    private unsafe int AddFileWatch(byte[] abs, out int errno)
    {
        int wd;
        // IN_MASK_ADD: should the name be a watched directory by now, its watch keeps its own mask.
        fixed (byte* p = abs)
            wd = Interop.Inotify.AddWatch(_fd, p, FileMask);
        errno = wd < 0 ? System.Runtime.InteropServices.Marshal.GetLastPInvokeError() : 0;
        return wd;
    }
}
