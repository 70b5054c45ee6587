using Understudy.Core.Paths;

namespace Understudy.Agent.Source;

/// <summary>
/// Entries of a job the target cannot take (<see cref="Core.Protocol.ReceiverLimits"/>): a path longer than PATH_MAX
/// there, a name reserved there, more extended attributes than an entry may carry. The mirror and replication leave
/// them out (or, for extended attributes, send the entry without them) and go on with everything else; each is
/// recorded here by target path with its reason, for `status`, until it is deleted, moved, or fits again. Shared by
/// every engine of the job (it travels with <see cref="JobDefinition"/>); thread-safe, bounded.
/// </summary>
internal sealed class NotProtected
{
    private const int MaxEntries = 10_000;

    private readonly Lock _lock = new();
    private readonly Dictionary<RelPath, string> _entries = [];

    /// <summary>Entries known but not kept: more than <see cref="MaxEntries"/>.</summary>
    private long _overflow;

    /// <summary>Records the entry; true when it is new or its reason changed (the caller then records a warning event).</summary>
    public bool Add(RelPath targetPath, string reason)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue(targetPath, out var had))
            {
                _entries[targetPath] = reason;
                return had != reason;
            }
            if (_entries.Count >= MaxEntries)
            {
                _overflow++;
                return true;
            }
            _entries[targetPath] = reason;
            return true;
        }
    }

    /// <summary>The entry fits now (or is sent): no longer listed.</summary>
    public void Remove(RelPath targetPath)
    {
        lock (_lock)
        {
            if (_entries.Count > 0)
                _entries.Remove(targetPath);
        }
    }

    /// <summary>The entry and everything below it were deleted or moved on the source.</summary>
    public void RemoveUnder(RelPath targetPath)
    {
        lock (_lock)
        {
            if (_entries.Count == 0)
                return;
            foreach (var k in _entries.Keys.Where(k => k.IsUnder(targetPath)).ToList())
                _entries.Remove(k);
        }
    }

    /// <summary>How many, and the first <paramref name="max"/> in path order.</summary>
    public NotProtectedView View(int max)
    {
        lock (_lock)
        {
            var first = _entries.OrderBy(e => e.Key).Take(max).Select(e => new NotProtectedEntry(e.Key.ToString(), e.Value)).ToList();
            return new NotProtectedView(_entries.Count + _overflow, first);
        }
    }
}

