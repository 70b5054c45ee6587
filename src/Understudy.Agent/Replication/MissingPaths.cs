using System.Collections.Concurrent;
using System.Text;
using Understudy.Core.Paths;

namespace Understudy.Agent.Replication;

/// <summary>
/// The paths the target could not apply an operation to (nothing there, or something in the way), as it reports them
/// (<c>SourceSession.Missing</c>): each is brought up to date as it is now by a difference mirror of it
/// (<see cref="ReplicationSender.ResyncAsync"/>). They go as one difference mirror (a file renamed between two of them
/// is moved, not sent again); a path below another one reported at the same time is covered by it. A path that fails
/// again soon after its own resync has something above it in the way: its parent is resynced instead, and above the
/// root a catch-up mirror of the job runs, so no failure is retried for ever. A resync is unconfirmed until a barrier
/// after it is acknowledged; a new session resyncs the unconfirmed ones again (they may have died with the last one).
/// Reported from the session's receive loop (<see cref="Add"/>); everything else runs on the job's loop.
/// </summary>
internal sealed class MissingPaths
{
    /// <summary>How long a resynced path is remembered: failing again within it, its parent is resynced instead.</summary>
    public static readonly TimeSpan Memory = TimeSpan.FromSeconds(30);

    private readonly ConcurrentQueue<string> _reported = new();
    private readonly Dictionary<RelPath, DateTimeOffset> _resynced = [];
    private readonly List<string> _unconfirmed = [];

    public bool IsEmpty => _reported.IsEmpty;

    /// <summary>The target could not apply a change to <paramref name="targetPath"/> (thread-safe).</summary>
    public void Add(string targetPath) => _reported.Enqueue(targetPath);

    /// <summary>A barrier after the last resyncs was acknowledged: they are durable on the target.</summary>
    public void Confirmed() => _unconfirmed.Clear();

    /// <summary>A new session: the resyncs not confirmed may have died with the last one, so they go again (as reported
    /// anew: their parents are not taken instead).</summary>
    public void RetryUnconfirmed()
    {
        foreach (var p in _unconfirmed)
        {
            if (RelPath.TryCreate(Encoding.UTF8.GetBytes(p), out var tp))
                _resynced.Remove(tp);
            _reported.Enqueue(p);
        }
        _unconfirmed.Clear();
    }

    /// <summary>Resyncs everything reported so far through <paramref name="sender"/>; what cannot be resynced (no valid
    /// path, above the root, outside every root) is handed to <paramref name="catchUp"/> with the reason.</summary>
    public async Task ResyncAsync(ReplicationSender sender, DateTimeOffset now, Action<string> catchUp, CancellationToken ct)
    {
        var scopes = new List<(int, RelPath)>();
        foreach (var tp in Take(now, sender.LaterNames, catchUp))
        {
            if (sender.TryMapTarget(tp, out int root, out var path))
                scopes.Add((root, path));
            else
                catchUp($"the target could not apply a change to {tp}");
        }
        if (scopes.Count > 0)
            await sender.ResyncAsync(scopes, ct);
    }

    /// <summary>
    /// Takes everything reported: the target paths to resync now (none below another), each remembered as resynced at
    /// <paramref name="now"/>. <paramref name="laterNames"/> gives the names a path has had since (renames sent after
    /// the operation that failed); <paramref name="catchUp"/> is told of what no resync can bring up to date.
    /// </summary>
    internal IReadOnlyList<RelPath> Take(DateTimeOffset now, Func<RelPath, IEnumerable<RelPath>> laterNames, Action<string> catchUp)
    {
        foreach (var (p, at) in _resynced.ToList())
        {
            if (now - at > Memory)
                _resynced.Remove(p);
        }
        var paths = new SortedSet<RelPath>();
        while (_reported.TryDequeue(out var missing))
        {
            _unconfirmed.Add(missing);
            if (!RelPath.TryCreate(Encoding.UTF8.GetBytes(missing), out var tp))
            {
                catchUp($"the target could not apply a change to {(missing.Length == 0 ? "its root" : missing)}");
                continue;
            }
            if (ResyncedAbove(tp) is { } again)
            {
                if (again.IsRoot)
                {
                    catchUp($"the target still could not apply a change to {tp} after re-sending it");
                    continue;
                }
                tp = again.Parent;
            }
            foreach (var name in laterNames(tp))
                paths.Add(name);
        }
        var taken = new List<RelPath>();
        foreach (var tp in paths)
        {
            if (Covered(paths, tp))
                continue;
            _resynced[tp] = now;
            taken.Add(tp);
        }
        return taken;
    }

    /// <summary>True when a directory above <paramref name="p"/> is in <paramref name="paths"/> too.</summary>
    private static bool Covered(SortedSet<RelPath> paths, RelPath p)
    {
        for (var a = p; !a.IsRoot;)
        {
            a = a.Parent;
            if (paths.Contains(a))
                return true;
        }
        return false;
    }

    /// <summary>The highest recently resynced path at or above <paramref name="tp"/>, if any.</summary>
    private RelPath? ResyncedAbove(RelPath tp)
    {
        RelPath? found = null;
        foreach (var r in _resynced.Keys)
        {
            if (tp.IsUnder(r) && (found is not { } f || r.Length < f.Length))
                found = r;
        }
        return found;
    }
}
