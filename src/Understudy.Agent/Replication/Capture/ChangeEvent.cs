using Understudy.Core.Paths;

namespace Understudy.Agent.Replication.Capture;

/// <summary>
/// One observed change below a watched root. <paramref name="Path"/> is relative to that root.
/// <paramref name="Cookie"/> pairs a <see cref="ChangeKind.MovedFrom"/> with its
/// <see cref="ChangeKind.MovedTo"/> (0 when there is no pair to make).
/// </summary>
/// <remarks>
/// Contract for consumers: events may repeat (a synthetic Created from a scan and the kernel's
/// own), so applying them must be idempotent. A MovedFrom without a MovedTo is a move out of the
/// root (treat as delete); a MovedTo without a MovedFrom is a move in (copy it, and for a directory
/// its whole subtree). An <see cref="ChangeKind.Overflow"/> stands for every change below its path
/// that happened before it was read and may not have been reported.
/// </remarks>
/// <remarks>
/// <see cref="Inode"/> (content and metadata changes of files; with inotify, of multiply linked files, and the Created
/// event of such a file's name, which is all that tells a change made through a new link before its watch was placed):
/// the file changed, when it has other names or the name it was changed through no longer holds it; the change belongs
/// to the file's other names then.
/// </remarks>
/// <remarks><see cref="Reason"/>: for an Overflow the watcher can explain (a watch it could not place, e.g. the inotify
/// limit with the sysctl that raises it), what users are told instead of "events were lost".</remarks>
internal readonly record struct ChangeEvent(ChangeKind Kind, RelPath Path, bool IsDirectory, uint Cookie = 0, (ulong Dev, ulong Ino)? Inode = null,
    string? Reason = null)
{
    public override string ToString() =>
        Cookie == 0 ? $"{Kind} {Path}{(IsDirectory ? "/" : "")}" : $"{Kind} {Path}{(IsDirectory ? "/" : "")} #{Cookie}";
}
