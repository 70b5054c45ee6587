using Understudy.Core.Paths;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Source;

internal sealed partial class MirrorEngine
{
    /// <summary>
    /// The first pass over the plan's creations and updates: every file's content goes with only the directories above
    /// it, ahead of directories that hold no file, which the second pass (the plan in order, less what went here) then
    /// creates. In a tree of empty directories (the replication benchmark's 100,000) a file the walk found in the last
    /// one went after all of them: at the mirror's end. That is also where a file written just before capture was up
    /// landed, as only the walk sees it (the early sends of <see cref="MirrorEngine.Early"/> cover what capture sees
    /// after the mirror began). Published by a barrier of its own at the end of the pass.
    /// </summary>
    /// <remarks>
    /// The plan is in walk order, depth first, so the directories above a step are the plan's directory steps still
    /// open on the way down to it (<paramref name="changes"/> holds nothing else for directories the target lacks).
    /// Left to the second pass, in order: hard-linked files (their names and claims follow each other as planned), files
    /// whose name or a directory above them the target has as something else (the plan deletes that first), and
    /// everything that is not a file.
    /// </remarks>
    private async Task SendFilesFirstAsync(List<PlanItem> changes, CancellationToken ct)
    {
        _done ??= new bool[changes.Count];
        var open = new List<(int Index, bool Replaces)>(); // directory steps above the step at hand, outermost first
        int sent = 0;
        for (int i = 0; i < changes.Count; i++)
        {
            var item = changes[i];
            if (item.Kind == PlanKind.MakeDirectory)
            {
                CloseBelow(changes, open, item.TargetPath);
                open.Add((i, Replaces(changes, i) || (open.Count > 0 && open[^1].Replaces)));
                continue;
            }
            if (item.Kind is not (PlanKind.SendFile or PlanKind.DeltaFile) || item.Source is not { LinkCount: <= 1 } || Done(i))
                continue;
            CloseBelow(changes, open, item.TargetPath);
            if (Replaces(changes, i) || (open.Count > 0 && open[^1].Replaces))
                continue;
            await ServeEarlyAsync(changes, 0, ct);
            foreach (var (d, _) in open)
            {
                if (!Done(d))
                {
                    await StepAsync(changes[d], ct);
                    _done[d] = true;
                }
            }
            if (Done(i))
                continue; // sent just now by an early send
            await StepAsync(item, ct);
            _done[i] = true;
            sent++;
        }
        if (sent == 0)
            return;
        // What the second pass leaves for the final barrier can be long (100,000 directories): publish these now.
        if (_earlyBarrier is not null)
            await _earlyBarrier;
        _earlyBarrier = session.BarrierAsync(0, ct);
    }

    /// <summary>Drops the directory steps that <paramref name="path"/> does not lie strictly below.</summary>
    private static void CloseBelow(List<PlanItem> changes, List<(int Index, bool Replaces)> open, RelPath path)
    {
        while (open.Count > 0 && (!path.IsUnder(changes[open[^1].Index].TargetPath) || path == changes[open[^1].Index].TargetPath))
            open.RemoveAt(open.Count - 1);
    }

    /// <summary>The step replaces what the target has under its name with another kind: the plan deletes that just before.</summary>
    private static bool Replaces(List<PlanItem> changes, int i) =>
        i > 0 && changes[i - 1] is { Kind: PlanKind.Delete } d && d.TargetPath == changes[i].TargetPath;
}
