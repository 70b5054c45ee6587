using System.Text;
using Understudy.Core.Jobs;
using Understudy.Core.Paths;
using Understudy.Core.Posix;

namespace Understudy.Agent.Restore;

/// <summary>The restore stopped at a diverged path (<c>restore.conflicts: manual</c>): the apply loop reports it to the target as a conflict.</summary>
internal sealed class RestoreStoppedException(string message) : Target.ApplyRefusedException(Core.Protocol.ErrorCode.Conflict, message);

/// <summary>
/// The source side of divergence during a restore. The source's durable queue says exactly which
/// paths changed on the source and never reached the target (snapshot taken when the restore
/// began). When the restore is about to replace or delete one of those paths, the two sides
/// diverged: the target's version wins and, by <c>restore.conflicts</c>, the source's version is
/// parked beside it under <see cref="ConflictName"/> (keep-target), dropped (discard-source), or the
/// restore stops (manual). The target cannot tell its own change from the source's lost one, so
/// every queued path the restore would change counts, each once.
/// </summary>
internal sealed class ConflictParker(FsTree tree, int root, IReadOnlySet<RelPath> queued, ConflictPolicy policy, string sourceName,
    TimeProvider time, Action<ConflictReport> report)
{
    /// <summary>Marks a parked name; such entries are left out of the manifest the restore compares, so it never deletes them.</summary>
    public const string Marker = ".understudy-conflict-";

    private static readonly byte[] s_marker = Encoding.ASCII.GetBytes(Marker);
    private readonly HashSet<RelPath> _done = [];
    private readonly List<ConflictReport> _pending = [];

    /// <summary>Reports not yet sent to the target (the session sends them between frames).</summary>
    public IReadOnlyList<ConflictReport> TakePending()
    {
        if (_pending.Count == 0)
            return [];
        var list = _pending.ToArray();
        _pending.Clear();
        return list;
    }

    private void Report(ConflictReport r)
    {
        _pending.Add(r);
        report(r);
    }

    public static bool IsParked(RelPath p) => p.Bytes.IndexOf(s_marker) >= 0;

    /// <summary><c>NAME.understudy-conflict-SOURCE-20261125T105500Z</c>, beside the original.</summary>
    public static RelPath ConflictName(RelPath p, string sourceName, DateTimeOffset at, int attempt)
    {
        var suffix = $"{Marker}{SafeName(sourceName)}-{at.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}{(attempt > 0 ? "-" + attempt : "")}";
        return p.Parent.Append([.. p.Name, .. Encoding.UTF8.GetBytes(suffix)]);
    }

    /// <summary>A source agent's name as part of a file name: letters, digits, '-', '_' and '.'; anything else becomes '_'.</summary>
    public static string SafeName(string sourceName) =>
        new([.. sourceName.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_')]);

    /// <summary>Called before an operation replaces (<paramref name="removes"/> false) or removes <paramref name="path"/>;
    /// true when the path is a conflict (handled now or before, by the policy), false for any other path.</summary>
    /// <exception cref="RestoreStoppedException">Policy manual and the path diverged.</exception>
    public bool BeforeChange(RelPath path, bool removes)
    {
        if (queued.Count == 0 || path.IsRoot)
            return false;
        if (_done.Contains(path))
            return true;
        bool hit = queued.Contains(path) || (removes && queued.Any(q => q.IsUnder(path)));
        if (!hit || tree.Lstat(path) is not { } st)
            return false;
        _done.Add(path);
        switch (policy)
        {
            case ConflictPolicy.Manual:
                throw new RestoreStoppedException($"restore stopped at a diverged path: {path} changed on the source before the fail-over and was never replicated, "
                    + "and the restore would replace it; inspect both sides, then run 'understudy restore NAME --force' on the target to keep the target's version and park the source's");
            case ConflictPolicy.DiscardSource:
                Report(new ConflictReport(root, path.ToString(), null, time.GetUtcNow().ToString("O")));
                return true;
        }
        var now = time.GetUtcNow();
        RelPath parked = default;
        for (int i = 0; i < 100; i++)
        {
            parked = ConflictName(path, sourceName, now, i);
            if (tree.Lstat(parked) is null)
                break;
        }
        // A file stays in place as a second name (a delta may still read it as its basis); a removed
        // entry or a directory is moved aside whole.
        if (removes || st.Kind == Core.Manifest.EntryKind.Directory)
            tree.Rename(path, parked);
        else
            tree.HardLink(path, parked);
        Report(new ConflictReport(root, path.ToString(), parked.ToString(), now.ToString("O")));
        return true;
    }
}
