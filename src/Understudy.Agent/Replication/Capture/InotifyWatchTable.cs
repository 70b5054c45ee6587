using Understudy.Core.Paths;

namespace Understudy.Agent.Replication.Capture;

/// <summary>
/// wd ↔ directory path for an inotify instance. Only the watcher thread touches it. A directory
/// rename rebases every entry below it, because the kernel keeps the wds and only tells us the
/// new name once, in the parent's IN_MOVED_TO.
/// </summary>
internal sealed class InotifyWatchTable
{
    private readonly Dictionary<int, RelPath> _byWd = [];
    private readonly Dictionary<RelPath, int> _byPath = [];

    public int Count => _byWd.Count;

    public bool TryGetPath(int wd, out RelPath path) => _byWd.TryGetValue(wd, out path);

    public bool Contains(RelPath path) => _byPath.ContainsKey(path);

    /// <summary>Records a watch; false when the wd was already known (inotify returns the same wd for the same inode).</summary>
    public bool Set(int wd, RelPath path)
    {
        if (_byWd.TryGetValue(wd, out var old))
        {
            if (old != path)
            {
                if (_byPath.TryGetValue(old, out int w) && w == wd)
                    _byPath.Remove(old);
                _byWd[wd] = path;
                _byPath[path] = wd;
            }
            return false;
        }
        _byWd[wd] = path;
        _byPath[path] = wd;
        return true;
    }

    /// <summary>Forgets a wd the kernel dropped (IN_IGNORED); the path keeps a newer wd if it has one.</summary>
    public bool Remove(int wd)
    {
        if (!_byWd.Remove(wd, out var path))
            return false;
        if (_byPath.TryGetValue(path, out int w) && w == wd)
            _byPath.Remove(path);
        return true;
    }

    /// <summary>Moves every entry at or below <paramref name="from"/> to lie below <paramref name="to"/>.</summary>
    public int Rebase(RelPath from, RelPath to)
    {
        var moved = new List<(int Wd, RelPath Path)>();
        foreach (var (wd, path) in _byWd)
        {
            if (path.IsUnder(from))
                moved.Add((wd, path));
        }
        foreach (var (wd, path) in moved)
        {
            if (_byPath.TryGetValue(path, out int w) && w == wd)
                _byPath.Remove(path);
        }
        foreach (var (wd, path) in moved)
        {
            var np = path.Rebase(from, to);
            _byWd[wd] = np;
            _byPath[np] = wd;
        }
        return moved.Count;
    }

    /// <summary>Removes and returns the wds at or below <paramref name="under"/>.</summary>
    public List<int> RemoveSubtree(RelPath under)
    {
        var gone = new List<int>();
        foreach (var (wd, path) in _byWd)
        {
            if (path.IsUnder(under))
                gone.Add(wd);
        }
        foreach (int wd in gone)
            Remove(wd);
        return gone;
    }
}
