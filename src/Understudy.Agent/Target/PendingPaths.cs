using Understudy.Core.Paths;

namespace Understudy.Agent.Target;

/// <summary>
/// The final paths of files waiting to be published (or, in <see cref="ParallelWrites"/>, being
/// written), answering "does an operation on P touch one of them?" (P is one of them, lies below
/// one, or is an ancestor of one) with a few hash lookups instead of comparing P with every
/// pending path (up to 1,024 comparisons per received file before). Paths are counted, so one
/// added twice stays until removed twice.
/// </summary>
internal sealed class PendingPaths
{
    private readonly Dictionary<RelPath, int> _paths = [];
    private readonly Dictionary<RelPath, int> _ancestors = [];

    public int Count => _paths.Count;

    public void Add(RelPath path) => Track(path, +1);

    /// <summary>Takes back one <see cref="Add"/> of <paramref name="path"/>.</summary>
    public void Remove(RelPath path) => Track(path, -1);

    public bool Touches(RelPath path)
    {
        if (_paths.Count == 0)
            return false;
        if (_paths.ContainsKey(path) || _ancestors.ContainsKey(path))
            return true;
        for (var a = path; !a.IsRoot;)
        {
            a = a.Parent;
            if (_paths.ContainsKey(a))
                return true;
        }
        return false;
    }

    public void Clear()
    {
        _paths.Clear();
        _ancestors.Clear();
    }

    private void Track(RelPath path, int delta)
    {
        Bump(_paths, path, delta);
        for (var a = path; !a.IsRoot;)
        {
            a = a.Parent;
            Bump(_ancestors, a, delta);
        }
    }

    private static void Bump(Dictionary<RelPath, int> counts, RelPath key, int delta)
    {
        int n = counts.GetValueOrDefault(key) + delta;
        if (n <= 0)
            counts.Remove(key);
        else
            counts[key] = n;
    }
}
