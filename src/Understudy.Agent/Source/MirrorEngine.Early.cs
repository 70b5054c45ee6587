using System.Diagnostics;
using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Source;

/// <summary>Files changed on the source since a mirror began (read from the replication queue, which still replays them after the mirror).</summary>
internal interface IEarlyChanges
{
    /// <summary>Regular files written since the last call, at most <paramref name="max"/>, as (root index, path in the root).</summary>
    List<(int Root, RelPath Path)> Take(int max);
}

internal sealed partial class MirrorEngine
{
    private const int EarlyBatch = 256;

    /// <summary>How often the transfer looks for files changed since the mirror began (10 ms).</summary>
    private static readonly long EarlyEvery = Stopwatch.Frequency / 100;

    private long _earlyCheckAt;
    private Dictionary<RelPath, int>? _planIndex;
    private bool[]? _done;
    private Task? _earlyBarrier;

    /// <summary>
    /// When set, files written on the source while the mirror transfers are sent before the mirror ends, not only
    /// by the replay of the queue after it: on a large first mirror (a tree of 100,000 directories), what users
    /// change meanwhile reaches the target in moments. The replay still sends them, in order, so this only moves
    /// copies earlier and never decides the end state.
    /// </summary>
    public IEarlyChanges? Early { get; init; }

    /// <summary>Files sent ahead of their place in the mirror (for tests and the mirror-complete event).</summary>
    public int EarlySent { get; private set; }

    private bool Done(int i) => _done is { } d && d[i];

    private async Task ServeEarlyAsync(List<PlanItem> plan, int position, CancellationToken ct)
    {
        if (Early is null)
            return;
        long now = Stopwatch.GetTimestamp();
        if (now < _earlyCheckAt)
            return;
        _earlyCheckAt = now + EarlyEvery;
        var files = Early.Take(EarlyBatch);
        if (files.Count == 0)
            return;
        if (_planIndex is null)
        {
            _done ??= new bool[plan.Count];
            _planIndex = new Dictionary<RelPath, int>();
            for (int i = position; i < plan.Count; i++)
            {
                if (plan[i].Kind != PlanKind.SetMetadata)
                    _planIndex.TryAdd(plan[i].TargetPath, i); // the first pending step of each path
            }
        }
        int sent = 0;
        foreach (var (root, path) in files)
        {
            if (await SendEarlyAsync(plan, root, path, ct))
                sent++;
        }
        EarlySent += sent;
        // Published on the target now, not at the mirror's end. One such barrier in flight at a time, and the
        // last one acknowledged before the final barrier: an ack says nothing of which barrier it answers.
        if (sent > 0 && _earlyBarrier is null or { IsCompleted: true })
        {
            if (_earlyBarrier is not null)
                await _earlyBarrier;
            _earlyBarrier = session.BarrierAsync(0, ct);
        }
    }

    /// <summary>
    /// Sends one file now, with the directories above it that the mirror is still to create (taken from the plan,
    /// out of order). Skips (false) what does not fit simply: not a single-linked regular file, excluded, below a
    /// directory the target lacks and the walk did not see, or a path with a deletion pending in the plan.
    /// </summary>
    private async Task<bool> SendEarlyAsync(List<PlanItem> plan, int root, RelPath path, CancellationToken ct)
    {
        if (root >= _trees.Length || path.IsRoot || job.IsExcluded(path, false))
            return false;
        for (var a = path.Parent; !a.IsRoot; a = a.Parent)
        {
            if (job.IsExcluded(a, true))
                return false;
        }
        var tree = _trees[root];
        if (tree.Lstat(path) is not { Kind: EntryKind.File, LinkCount: <= 1 } st)
            return false;
        var tp = path.Rebase(RelPath.Root, job.Roots[root].TargetPrefix);
        var ancestors = new List<RelPath>();
        for (var a = tp.Parent; !a.IsRoot; a = a.Parent)
            ancestors.Add(a);
        ancestors.Reverse();
        foreach (var a in ancestors)
        {
            if (_planIndex!.TryGetValue(a, out int i))
            {
                if (Done(i))
                    continue;
                if (plan[i].Kind != PlanKind.MakeDirectory)
                    return false;
                await ExecuteAsync(plan[i], ct);
                _done![i] = true;
            }
            else if (!_targetDirs!.Contains(a))
            {
                return false;
            }
        }
        var entry = new FileEntry(path, EntryKind.File, st.Mode, st.Uid, st.Gid, st.Size, st.MtimeNs, null, st.Inode, st.Device, st.LinkCount);
        if (_planIndex!.TryGetValue(tp, out int f) && !Done(f))
        {
            if (plan[f].Kind is not (PlanKind.SendFile or PlanKind.DeltaFile))
                return false;
            await ExecuteAsync(plan[f] with { Source = entry }, ct);
            _done![f] = true;
            return true;
        }
        // Not in the plan (written after the walk) or sent already and written again.
        progress.FilesTotal++;
        progress.BytesTotal += st.Size;
        await SendFileAsync(tree, entry, tp, ct);
        return true;
    }
}
