using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Source;

internal sealed partial class MirrorEngine
{
    /// <summary>Target paths of files this mirror meant to send but found gone (also in <see cref="Vanished"/>), or found
    /// holding another file than the one walked (not in it: that name's content went).</summary>
    private readonly HashSet<RelPath> _vanishedSends = [];

    /// <summary>A hard-link group whose first name vanished before its content went: the name that carries it instead.</summary>
    private readonly Dictionary<RelPath, RelPath> _leaderNow = [];

    private void NoteVanished(RelPath targetPath)
    {
        Vanished.Add(targetPath);
        _vanishedSends.Add(targetPath);
    }

    /// <summary>
    /// Another name of a multiply linked file, linked to the name whose content went first. When that name vanished
    /// before it was read (renamed or removed since the walk), the target has nothing there to link to: this name
    /// carries the content instead and the group's later names are linked to it (convergence seeds 300 with inotify and
    /// 578924569: a name linked to a first name skipped as vanished was missing on the target for good).
    /// </summary>
    internal async Task LinkAsync(FsTree tree, FileEntry e, RelPath tp, RelPath leader, CancellationToken ct)
    {
        if (_leaderNow.TryGetValue(leader, out var now))
            leader = now;
        if (!_vanishedSends.Contains(leader))
        {
            await session.SendAsync(new HardLinkOp(tp, leader), ct);
            return;
        }
        if (events.Trace.On)
            events.Trace.Write(job.Name, $"mirror {tp} carries inode {e.Inode}'s content: {leader} vanished before it was sent");
        await SendFileAsync(tree, e, tp, ct);
        if (!_vanishedSends.Contains(tp))
            _leaderNow[leader] = tp;
    }
}
