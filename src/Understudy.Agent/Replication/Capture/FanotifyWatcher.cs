using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using static Understudy.Agent.Replication.Capture.Interop.Fanotify;

namespace Understudy.Agent.Replication.Capture;

/// <summary>
/// One fanotify filesystem mark for the whole filesystem holding the root (root only): set up in
/// constant time, with no per-directory watches and hence no race with new directories. Events of
/// the whole filesystem arrive; each carries the parent directory's file handle and the entry name
/// (FAN_REPORT_DFID_NAME), the handle is resolved to a path (<see cref="HandlePathCache"/>) and only
/// events under the root are kept.
/// </summary>
/// <remarks>
/// <para>Why FAN_CLOSE_WRITE works here: since Linux 5.9 fsnotify hands parent and name to
/// filesystem marks for every event on a non-directory, so close-write, modify and attrib on a file
/// all arrive as DFID_NAME records; tried on this kernel (6.x, ext4), see the tests. Events on a
/// directory itself (attrib) arrive with the directory's own handle and the name ".".</para>
/// <para>FAN_RENAME (Linux 5.17+) reports a move as one event with the old and the new parent and
/// name, which gives MovedFrom/MovedTo their cookie (fanotify has none: we number them). Older
/// kernels get FAN_MOVED_FROM/FAN_MOVED_TO, reported unpaired (cookie 0).</para>
/// <para>The kernel merges identical events queued for the same name, so one event may say
/// "created and deleted"; the order is then taken from whether the name exists when it is read.</para>
/// <para>Limits: other filesystems mounted below the root are not covered by the mark; a directory
/// renamed between an event and its read gives the event the directory's new name (the rename
/// event itself follows, as a move whose source no longer exists).</para>
/// </remarks>
internal sealed partial class FanotifyWatcher : KernelWatcher
{
    private readonly int _fd;
    private readonly int _mountFd;
    private readonly HandlePathCache _paths;
    private readonly bool _renameEvents;
    private uint _nextCookie;

    private FanotifyWatcher(RootPath root, Func<RelPath, bool>? excluded, WatcherOptions options, ILogger? logger)
        : base(root, excluded, options, logger)
    {
        uint flags = FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | (options.FanotifyUnlimitedQueue ? FAN_UNLIMITED_QUEUE : 0);
        // The moved object's handle lets FanotifyMergeCheck tell which file a name holds; older kernels lack it.
        _fd = Init(flags | FAN_REPORT_DFID_NAME_TARGET, (uint)(Libc.O_RDONLY | Libc.O_CLOEXEC));
        if (_fd < 0)
            _fd = Init(flags | FAN_REPORT_DFID_NAME, (uint)(Libc.O_RDONLY | Libc.O_CLOEXEC));
        if (_fd < 0)
            throw new WatcherException($"fanotify_init failed: {Sys.ErrorText(Marshal.GetLastPInvokeError())}");
        try
        {
            var rootC = Sys.Z(root.Bytes);
            _mountFd = OpenDirectory(rootC);
            _ = HandleOf(rootC); // fails fast on a filesystem that cannot encode file handles
            _paths = new HandlePathCache(_mountFd);
            ulong mask = FAN_CREATE | FAN_DELETE | FAN_CLOSE_WRITE | FAN_ATTRIB | FAN_ONDIR
                | (options.ReportWrites ? FAN_MODIFY : 0);
            _renameEvents = TryMark(rootC, mask | FAN_RENAME, out _);
            if (!_renameEvents && !TryMark(rootC, mask | FAN_MOVED_FROM | FAN_MOVED_TO, out int errno))
                throw new WatcherException($"fanotify_mark of the filesystem of '{root}' failed: {Sys.ErrorText(errno)}");
        }
        catch
        {
            if (_mountFd > 0)
                Libc.close(_mountFd);
            Libc.close(_fd);
            throw;
        }
        Progress.AddWatched(1);
        Progress.AddSeen(1);
        MarkReady();
    }

    public override string Method => "fanotify";

    protected override int KernelFd => _fd;

    /// <summary>True when the kernel reports a move as one FAN_RENAME event (paired MovedFrom/MovedTo).</summary>
    public bool PairsMoves => _renameEvents;

    /// <summary>Handle-to-path lookups that had to ask the kernel (cache misses).</summary>
    public long PathResolutions => _paths.Resolutions;

    public static FanotifyWatcher Start(string rootPath, Func<RelPath, bool>? excluded, WatcherOptions options, ILogger? logger)
    {
        var w = new FanotifyWatcher(new RootPath(rootPath), excluded, options, logger);
        w.Start();
        return w;
    }

    /// <summary>True when fanotify can be used here: effective root and a kernel that accepts FAN_REPORT_DFID_NAME.</summary>
    public static bool IsAvailable()
    {
        if (Libc.geteuid() != 0)
            return false;
        int fd = Init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_DFID_NAME, (uint)Libc.O_RDONLY);
        if (fd < 0)
            return false;
        Libc.close(fd);
        return true;
    }

    protected override void CloseKernel()
    {
        Libc.close(_fd);
        Libc.close(_mountFd);
    }

    private unsafe bool TryMark(byte[] rootC, ulong mask, out int errno)
    {
        int rc;
        fixed (byte* p = rootC)
            rc = Mark(_fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, mask, Libc.AT_FDCWD, p);
        errno = rc < 0 ? Marshal.GetLastPInvokeError() : 0;
        return rc == 0;
    }

    private static unsafe int OpenDirectory(byte[] pathC)
    {
        int fd;
        fixed (byte* p = pathC)
            fd = Libc.open(p, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
        if (fd < 0)
            throw new WatcherException($"Cannot open the watched root: {Sys.ErrorText(Marshal.GetLastPInvokeError())}");
        return fd;
    }

    /// <summary>The root's struct file_handle; events are useless without handles.</summary>
    private static byte[] HandleOf(byte[] pathC) =>
        TryHandleOf(pathC) ?? throw new WatcherException($"name_to_handle_at failed: {Sys.ErrorText(Marshal.GetLastPInvokeError())}");

    /// <summary>The struct file_handle (name_to_handle_at) of what is at the NUL-terminated <paramref name="pathC"/>, or
    /// null (errno in <see cref="Marshal.GetLastPInvokeError"/>).</summary>
    private static unsafe byte[]? TryHandleOf(byte[] pathC)
    {
        const int MaxHandleSize = 128;
        var buf = new byte[8 + MaxHandleSize];
        fixed (byte* b = buf)
        fixed (byte* p = pathC)
        {
            *(uint*)b = MaxHandleSize;
            int mountId;
            if (NameToHandleAt(Libc.AT_FDCWD, p, b, &mountId, 0) < 0)
                return null;
            return buf.AsSpan(0, 8 + (int)*(uint*)b).ToArray();
        }
    }
}
