namespace Understudy.Agent.Source;

/// <summary>
/// A mirror's steps in apply order: moves first (what they take may lie in a directory deleted after them), then
/// creations and updates in walk order, then orphan deletions (after the sends, so that a name the source gives back
/// meanwhile is still there to be kept), then directory metadata, deepest first (deletions change mtimes too). The last part is
/// produced as the plan is enumerated instead of being held for the whole transfer (one step per directory of a new
/// tree). Enumerated once.
/// </summary>
internal sealed class MirrorPlan(List<PlanItem> moves, List<PlanItem> deletes, List<PlanItem> changes, IEnumerable<PlanItem> directoryMetadata)
    : IEnumerable<PlanItem>
{
    public List<PlanItem> Moves { get; } = moves;

    public List<PlanItem> Deletes { get; } = deletes;

    /// <summary>Creations and updates, in walk order: the only steps that carry file content.</summary>
    public List<PlanItem> Changes { get; } = changes;

    /// <summary>Files whose content the plan sends, and their bytes.</summary>
    public (long Files, long Bytes) ContentTotals()
    {
        long files = 0, bytes = 0;
        foreach (var p in Changes)
        {
            if (p.Kind is PlanKind.SendFile or PlanKind.DeltaFile)
            {
                files++;
                bytes += p.Source!.Size;
            }
        }
        return (files, bytes);
    }

    /// <summary>The steps after <see cref="Changes"/>: orphan deletions, then directory metadata.</summary>
    public IEnumerable<PlanItem> AfterChanges()
    {
        foreach (var item in Deletes)
            yield return item;
        foreach (var item in directoryMetadata)
            yield return item;
    }

    public IEnumerator<PlanItem> GetEnumerator()
    {
        foreach (var item in Moves)
            yield return item;
        foreach (var item in Changes)
            yield return item;
        foreach (var item in AfterChanges())
            yield return item;
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
