using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using static Understudy.Agent.Replication.Capture.Interop.Inotify;

namespace Understudy.Agent.Replication.Capture;

/// <summary>
/// Recursive inotify watches, for agents that do not run as root.
/// </summary>
/// <remarks>
/// <para>No race with new directories: a new directory is watched first and listed second, and
/// everything the listing finds is reported as Created (and its subdirectories handled the same
/// way). Whatever is created after the watch is placed the kernel reports; whatever was created
/// before it the listing sees. Duplicates are possible, losses are not.</para>
/// <para>Initial setup walks the tree breadth first, <see cref="WatcherOptions.SetupBatchSize"/>
/// directories between two reads of events, so watched directories report changes while the rest
/// of the tree is still being set up. Setup does not report what already exists: changes in a
/// directory before its watch is placed are not reported, so a consumer that copied the tree before
/// <see cref="IChangeWatcher.Ready"/> completed must compare again after it.</para>
/// <para>Queued directories that vanish before they are watched (a parent renamed meanwhile) are
/// kept aside until the rename that explains them is read, then re-queued under their new name.</para>
/// </remarks>
internal sealed partial class InotifyWatcher : KernelWatcher
{
    private const uint DirMask = IN_CREATE | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE | IN_DELETE_SELF
        | IN_MOVED_FROM | IN_MOVED_TO | IN_MOVE_SELF | IN_DONT_FOLLOW | IN_ONLYDIR | IN_EXCL_UNLINK;

    private readonly int _fd;
    private readonly uint _mask;
    private readonly int _rootWd;
    private readonly InotifyWatchTable _table = new();
    private Queue<SetupItem> _fresh = new();
    private Queue<SetupItem> _initial = new();
    private List<SetupItem> _vanished = [];
    private readonly List<DirectoryReader.Entry> _entries = [];
    private bool _limitReported;

    /// <summary>Directories wait to be set up (<see cref="Settled"/>); written on the watcher thread, read on any.</summary>
    private volatile bool _settingUp = true;

    /// <summary>A directory still to be watched; <paramref name="Report"/>: its entries are new and must be reported;
    /// <paramref name="Retry"/>: below a directory the watch limit refused before (InotifyWatcher.Unwatched.cs).</summary>
    private readonly record struct SetupItem(RelPath Path, bool Report, bool Retry = false);

    private InotifyWatcher(RootPath root, Func<RelPath, bool>? excluded, WatcherOptions options, ILogger? logger)
        : base(root, excluded, options, logger)
    {
        _mask = DirMask | (options.ReportWrites ? IN_MODIFY : 0);
        _fd = Init1(IN_NONBLOCK | IN_CLOEXEC);
        if (_fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new WatcherException(errno == Libc.EMFILE
                ? $"inotify instance limit reached (fs.inotify.max_user_instances = {ReadSysctl("max_user_instances")}). Raise it: sysctl fs.inotify.max_user_instances={Suggest(ReadSysctl("max_user_instances"), 1024)}"
                : $"inotify_init1 failed: {Sys.ErrorText(errno)}");
        }
        // The root is watched before the constructor returns, so a change made right after Start is seen.
        _rootWd = AddWatch(RelPath.Root, out int rootErr);
        if (_rootWd < 0)
        {
            Libc.close(_fd);
            throw new WatcherException($"Cannot watch '{root}': {Sys.ErrorText(rootErr)}");
        }
        _table.Set(_rootWd, RelPath.Root);
        Progress.AddWatched(1);
        Progress.AddSeen(1);
        _initial.Enqueue(new SetupItem(RelPath.Root, false));
    }

    public override string Method => "inotify";

    protected override int KernelFd => _fd;

    protected override bool HasWork => _fresh.Count > 0 || _initial.Count > 0 || RetryDue;

    protected override int IdleTimeoutMs => _pendingMoves.Count > 0 ? 5 : _vanished.Count > 0 ? 50 : RetryTimeoutMs;

    /// <summary>
    /// False while directories wait to be watched and listed: a new directory is listed after the read that reported
    /// it, a setup step at a time, so what it holds is published then, after events read with it or later. Until
    /// that is done a change is still on its way (<see cref="IChangeWatcher.Quiet"/>: `idle`, the capture point).
    /// </summary>
    public override bool Settled => !_settingUp;

    public static InotifyWatcher Start(string rootPath, Func<RelPath, bool>? excluded, WatcherOptions options, ILogger? logger)
    {
        var w = new InotifyWatcher(new RootPath(rootPath), excluded, options, logger);
        w.Start();
        return w;
    }

    protected override void CloseKernel() => Libc.close(_fd);

    protected override void OnIdle()
    {
        // Nothing unread in the kernel queue: every rename that happened before now has been seen.
        FinishPendingMoves(all: true);
        _vanished.Clear();
        NoteSetup();
    }

    /// <summary>Called at the end of every step that may queue or finish setup work: before a read is done
    /// (KernelWatcher's reading flag), and after what a setup step found is published.</summary>
    private void NoteSetup() => _settingUp = _fresh.Count > 0 || _initial.Count > 0;

    protected override void DoWork()
    {
        if (RetryDue)
            RetryUnwatched();
        for (int i = 0; i < Options.SetupBatchSize; i++)
        {
            if (_fresh.TryDequeue(out var item) || _initial.TryDequeue(out item))
                WatchAndList(item);
            else
                break;
        }
        if (_rewatching.Count > 0)
            FinishRewatching();
        NoteSetup();
        if (_fresh.Count == 0 && _initial.Count == 0 && !Progress.IsReady)
        {
            MarkReady();
            Logger?.LogInformation("inotify watching {Count} directories under {Root}", _table.Count, Root);
        }
    }

    /// <summary>Watch first, list second: the order that makes new directories race-free.</summary>
    private void WatchAndList(SetupItem item)
    {
        if (!item.Path.IsRoot && Excluded(item.Path))
            return;
        int wd = AddWatch(item.Path, out int errno);
        if (wd < 0)
        {
            OnWatchFailed(item, errno);
            return;
        }
        if (_table.Set(wd, item.Path))
            Progress.AddWatched(1);
        _files.Remove(wd);
        _entries.Clear();
        if (!DirectoryReader.TryRead(Root.Absolute(item.Path), _entries, out _))
            return; // gone again: its parent's events tell the story
        foreach (var e in _entries)
        {
            if (!RelPath.IsValidName(e.Name))
                continue;
            var child = item.Path.Append(e.Name);
            if (Excluded(child))
                continue;
            var inode = e.IsDirectory ? null : WatchIfLinked(child);
            if (item.Report)
                Sink.Publish(new ChangeEvent(ChangeKind.Created, child, e.IsDirectory, Inode: inode));
            if (e.IsDirectory)
            {
                Progress.AddSeen(1);
                (item.Report || item.Retry ? _fresh : _initial).Enqueue(item with { Path = child });
            }
        }
    }

    private void OnWatchFailed(SetupItem item, int errno, bool directory = true)
    {
        switch (errno)
        {
            case Libc.ENOENT or Libc.ENOTDIR or Libc.ELOOP:
                _vanished.Add(item);
                break;
            case Libc.ENOSPC:
                if (directory && !KeepUnwatched(item.Path, item.Retry))
                    break; // refused again, or below a directory refused before: kept, and reported already
                long limit = ReadSysctl("max_user_watches");
                string text = $"inotify watch limit reached (fs.inotify.max_user_watches = {limit}, {_table.Count} used by this job); "
                    + $"'{item.Path}' and below are not watched (scanned for changes and retried every {Options.WatchRetry.TotalSeconds:0.###} s). Raise it: sysctl fs.inotify.max_user_watches={Suggest(limit, 524288)}";
                Progress.SetError(text);
                if (!_limitReported)
                    Logger?.LogWarning("{Text}", text);
                _limitReported = true;
                Sink.Publish(new ChangeEvent(ChangeKind.Overflow, item.Path, true, Reason: text));
                break;
            default:
                string why = $"Cannot watch '{item.Path}': {Sys.ErrorText(errno)}";
                Progress.SetError(why);
                Sink.Publish(new ChangeEvent(ChangeKind.Overflow, item.Path, true, Reason: why));
                break;
        }
    }

    private unsafe int AddWatch(RelPath path, out int errno)
    {
        var abs = Root.Absolute(path);
        int wd;
        fixed (byte* p = abs)
            wd = Interop.Inotify.AddWatch(_fd, p, _mask);
        errno = wd < 0 ? Marshal.GetLastPInvokeError() : 0;
        return wd;
    }

    private static long ReadSysctl(string name)
    {
        try
        {
            return long.Parse(File.ReadAllText($"/proc/sys/fs/inotify/{name}").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return -1;
        }
    }

    private static long Suggest(long current, long floor) => Math.Max(floor, current * 2);

    private static Queue<SetupItem> RebaseQueue(Queue<SetupItem> q, RelPath from, RelPath? to)
    {
        var result = new Queue<SetupItem>(q.Count);
        foreach (var item in q)
        {
            if (!item.Path.IsUnder(from))
                result.Enqueue(item);
            else if (to is { } t)
                result.Enqueue(item with { Path = item.Path.Rebase(from, t) });
        }
        return result;
    }
}
