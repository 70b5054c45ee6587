using Understudy.Core.Api;
using Understudy.Core.Posix;

namespace Understudy.Agent.Target;

/// <summary>
/// The roots of a trust entry: the directories the target's owner lets that peer's jobs write under (issue 19). A
/// root is taken as written only when no symlink is on its way (its real path is itself), at <c>trust add</c> and
/// again at every use, and a target path is inside it only when its real path is: a link the source replicated,
/// or one planted on a root later, cannot lead a job out.
/// </summary>
internal static class TrustRoots
{
    /// <summary>The root as stored (absolute, normalized, no trailing '/'), or why it is refused.</summary>
    public static (string? Root, string? Error) Normalize(string given)
    {
        var root = given.Trim();
        if (!Path.IsPathRooted(root))
            return (null, $"root '{given}' must be an absolute path");
        root = Path.GetFullPath(root);
        if (root.Length > 1)
            root = root.TrimEnd('/');
        string real;
        try
        {
            real = RealPaths.Resolve(root);
        }
        catch (PosixException e)
        {
            return (null, $"cannot resolve root {root}: {e.Message}");
        }
        return real == root ? (root, null)
            : (null, $"root {root} leads through a symlink to {real}; a root is never followed through a symlink: give the real directory (--root {real}) if that is what you mean");
    }

    /// <summary>Is the root, now, still its own real path (no symlink planted on its way since it was given)?</summary>
    public static bool StillReal(string root)
    {
        try
        {
            return RealPaths.Resolve(root) == root;
        }
        catch (PosixException)
        {
            return false;
        }
    }

    /// <summary>Why a job of <paramref name="peer"/> may not write at <paramref name="path"/> (really <paramref name="real"/>); null when it may.</summary>
    public static string? Refusal(TrustedPeer? peer, string sourceId, string sourceName, string path, string real)
    {
        var really = real == path ? "" : $" (really {real}, through a symlink)";
        var fix = $"on the target, run: understudy trust add {sourceId} --root DIR (a directory that holds {path})";
        if (peer is null)
            return $"the target no longer trusts {sourceName}";
        if (peer.Roots.Length == 0)
            return $"target path {path}{really} is refused: the target's trust entry for {sourceName} has no roots, so it may write nowhere there; {fix}";
        foreach (var root in peer.Roots)
        {
            if (IsUnder(real, root) && StillReal(root))
                return null;
        }
        var leading = peer.Roots.Where(r => !StillReal(r)).ToList();
        var broken = leading.Count == 0 ? "" : $" (root {string.Join(", ", leading)} now leads through a symlink and is not used)";
        return $"target path {path}{really} is outside the roots the target lets {sourceName} write under: {string.Join(", ", peer.Roots)}{broken}; {fix}";
    }

    /// <summary>The entry's policy in words (events, <c>trust list</c>).</summary>
    public static string Describe(TrustedPeer p) =>
        (p.Roots.Length == 0 ? "may write nowhere here" : "may write under " + string.Join(", ", p.Roots))
        + (p.AllowSetuid ? "; setuid/setgid applied" : "")
        + (p.AllowSecurityXattrs ? "; security.*/trusted.* xattrs applied" : "");

    public static bool SamePolicy(TrustedPeer a, TrustedPeer b) =>
        a.Roots.SequenceEqual(b.Roots) && a.AllowSetuid == b.AllowSetuid && a.AllowSecurityXattrs == b.AllowSecurityXattrs;

    private static bool IsUnder(string path, string root) =>
        root == "/" || path == root || path.StartsWith(root + "/", StringComparison.Ordinal);
}
