using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Source;

internal sealed partial class MirrorEngine
{
    /// <summary>
    /// A file missing on the target under its name may be there under another (renamed while replication could not
    /// follow: a catch-up after lost events). One that is not on the source any more, with the same size, mtime and
    /// content, is renamed into place instead of the file being sent again (and the other name deleted): the target
    /// keeps its inode and nothing is transferred. Moves go first, before the deletions that may take their old
    /// directories; the later delete of a moved name finds nothing. With the manifest's hashes (checksum mode) the
    /// content is compared here; otherwise candidates are kept for <see cref="ConfirmMovesAsync"/>.
    /// </summary>
    private List<PlanItem> FindMoves(Comparison c, bool hashes)
    {
        var moves = new List<PlanItem>();
        _moveCandidates = null;
        if (c.Gone is not { Count: > 0 } gone)
            return moves;
        if (!hashes)
        {
            // Any of them may be renamed away, changing its directory's mtime on the target.
            foreach (var t in gone.Values.SelectMany(l => l))
                c.TouchedDirs.Add(t.Entry.Path.Parent);
            _moveCandidates = gone;
            return moves;
        }
        var plan = c.Changes;
        for (int i = 0; i < plan.Count; i++)
        {
            if (plan[i] is not { Kind: PlanKind.SendFile, New: true, Source: { LinkCount: <= 1 } e } send
                || !gone.TryGetValue((e.Size, e.MtimeNs), out var candidates) || candidates.Count == 0 || SourceHash(send.Root, e) is not { } sh)
                continue;
            int pick = candidates.FindIndex(t => t.Hash == sh);
            if (pick < 0)
                continue;
            var from = candidates[pick].Entry.Path;
            candidates.RemoveAt(pick);
            c.TouchedDirs.Add(from.Parent);
            moves.Add(new PlanItem(PlanKind.Move, send.Root, e, send.TargetPath, from));
            plan.RemoveAt(i--);
        }
        return moves;
    }

    /// <summary>Files gone from the source by (size, mtime), for <see cref="ConfirmMovesAsync"/>.</summary>
    private Dictionary<(long Size, long Mtime), List<ManifestItem>>? _moveCandidates;

    /// <summary>Without hashes in the manifest: compares each candidate's content (the target hashes the names gone from
    /// the source, once each) and turns the sends to names the target lacks that match into moves, placed first.</summary>
    private async Task ConfirmMovesAsync(MirrorPlan mirrorPlan, CancellationToken ct)
    {
        if (_moveCandidates is not { } gone)
            return;
        _moveCandidates = null;
        var plan = mirrorPlan.Changes;
        var targetHashes = new Dictionary<RelPath, UInt128?>();
        var moves = new List<PlanItem>();
        for (int i = 0; i < plan.Count; i++)
        {
            if (plan[i] is not { Kind: PlanKind.SendFile, New: true, Source: { LinkCount: <= 1 } e } send
                || !gone.TryGetValue((e.Size, e.MtimeNs), out var candidates) || candidates.Count == 0 || SourceHash(send.Root, e) is not { } sh)
                continue;
            int pick = -1;
            for (int k = 0; k < candidates.Count && pick < 0; k++)
            {
                var candidate = candidates[k].Entry.Path;
                if (!targetHashes.TryGetValue(candidate, out var th))
                    targetHashes[candidate] = th = await TargetHashAsync(candidate, ct);
                if (th == sh)
                    pick = k;
            }
            if (pick < 0)
                continue;
            var from = candidates[pick].Entry.Path;
            candidates.RemoveAt(pick);
            moves.Add(new PlanItem(PlanKind.Move, send.Root, e, send.TargetPath, from));
            plan.RemoveAt(i--);
        }
        mirrorPlan.Moves.InsertRange(0, moves);
    }

    private async Task<UInt128?> TargetHashAsync(RelPath path, CancellationToken ct)
    {
        UInt128? hash = null;
        await foreach (var item in session.GetManifestAsync(path, true, ct))
        {
            if (item.Entry.Path == path)
                hash = item.Hash;
        }
        return hash;
    }
}
