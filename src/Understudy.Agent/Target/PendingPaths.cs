using Understudy.Core.Paths;

namespace Understudy.Agent.Target;

/// <summary>
/// The final paths of files waiting to be published, answering "does an operation on P touch
/// one of them?" (P is one of them, lies below one, or is an ancestor of one) with a few hash
/// lookups instead of comparing P with every pending path (up to 1,024 comparisons per
/// received file before).
/// </summary>
internal sealed class PendingPaths
{
    private readonly HashSet<RelPath> _paths = [];
    private readonly HashSet<RelPath> _ancestors = [];

    public int Count => _paths.Count;

    public void Add(RelPath path)
    {
        if (!_paths.Add(path) || path.IsRoot)
            return;
        for (var a = path.Parent; _ancestors.Add(a) && !a.IsRoot; a = a.Parent)
        {
        }
    }

    public bool Touches(RelPath path)
    {
        if (_paths.Count == 0)
            return false;
        if (_paths.Contains(path) || _ancestors.Contains(path))
            return true;
        for (var a = path; !a.IsRoot;)
        {
            a = a.Parent;
            if (_paths.Contains(a))
                return true;
        }
        return false;
    }

    public void Clear()
    {
        _paths.Clear();
        _ancestors.Clear();
    }
}
