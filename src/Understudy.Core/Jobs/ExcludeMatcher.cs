using Understudy.Core.Paths;

namespace Understudy.Core.Jobs;

/// <summary>
/// Decides which paths of a job are excluded, from <c>source.exclude</c> (gitignore-like):
/// <list type="bullet">
/// <item>a pattern without '/' matches a name at any depth (<c>*.tmp</c>, <c>node_modules</c>);</item>
/// <item>a pattern with a '/' at the start or in the middle is anchored to the job root (<c>/build</c>, <c>logs/*.gz</c>);</item>
/// <item>a trailing '/' matches directories only (<c>cache/</c>);</item>
/// <item><c>*</c> matches within one name, <c>?</c> one character, <c>[abc]</c>/<c>[a-z]</c>/<c>[!a-z]</c> a class,
/// <c>**</c> any number of whole directories (<c>**/node_modules</c>, <c>a/**/b</c>; a trailing <c>a/**</c> is everything inside a);</item>
/// <item><c>\</c> escapes the next character; negation (<c>!</c>) is not supported.</item>
/// </list>
/// Everything under an excluded directory is excluded. Patterns apply below each source path;
/// matching is on raw bytes, case-sensitive, and allocates nothing.
/// Thread-safe: immutable after construction.
/// </summary>
internal sealed class ExcludeMatcher
{
    private readonly GlobPattern[] _namePatterns;
    private readonly GlobPattern[] _pathPatterns;

    /// <exception cref="ArgumentException">A pattern is invalid (a validated <see cref="JobSpec"/> never has one).</exception>
    public ExcludeMatcher(IEnumerable<string> patterns)
    {
        var names = new List<GlobPattern>();
        var paths = new List<GlobPattern>();
        foreach (var text in patterns)
        {
            if (!GlobPattern.TryCompile(text, out var p, out var error))
                throw new ArgumentException(error, nameof(patterns));
            (p.Anchored ? paths : names).Add(p);
        }
        _namePatterns = [.. names];
        _pathPatterns = [.. paths];
    }

    public static ExcludeMatcher Empty { get; } = new([]);

    public bool IsEmpty => _namePatterns.Length == 0 && _pathPatterns.Length == 0;

    /// <summary>
    /// True when the path or any directory above it is excluded. Use this for paths that arrive on
    /// their own (change events); a tree walk that never enters excluded directories can use the
    /// cheaper <see cref="MatchesEntry"/>.
    /// </summary>
    public bool IsExcluded(RelPath path, bool isDirectory)
    {
        if (IsEmpty || path.IsRoot)
            return false;
        var bytes = path.Bytes;
        int start = 0;
        while (true)
        {
            int slash = bytes[start..].IndexOf((byte)'/');
            int end = slash < 0 ? bytes.Length : start + slash;
            bool last = slash < 0;
            if (Matches(bytes[..end], bytes[start..end], !last || isDirectory))
                return true;
            if (last)
                return false;
            start = end + 1;
        }
    }

    /// <summary>True when a pattern matches this entry itself (its ancestors are not checked).</summary>
    public bool MatchesEntry(RelPath path, bool isDirectory) =>
        !path.IsRoot && !IsEmpty && Matches(path.Bytes, path.Name, isDirectory);

    private bool Matches(ReadOnlySpan<byte> path, ReadOnlySpan<byte> name, bool isDirectory)
    {
        foreach (var p in _namePatterns)
        {
            if ((isDirectory || !p.DirectoryOnly) && p.MatchesName(name))
                return true;
        }
        foreach (var p in _pathPatterns)
        {
            if ((isDirectory || !p.DirectoryOnly) && p.MatchesPath(path))
                return true;
        }
        return false;
    }
}
