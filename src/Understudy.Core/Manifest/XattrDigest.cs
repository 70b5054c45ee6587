using System.IO.Hashing;
using Understudy.Core.Paths;
using Understudy.Core.Posix;

namespace Understudy.Core.Manifest;

/// <summary>
/// One extended attribute as a manifest carries it: the name and an XxHash3 of the value. A manifest that
/// carried the values themselves (up to 64 KiB each) could not bound its batches or the memory a verify of a
/// large tree holds; a hash says whether a value differs, the name says which.
/// </summary>
internal readonly record struct XattrDigest(byte[] Name, ulong ValueHash)
{
    /// <summary>Digests of <paramref name="xattrs"/>, in the same (name) order.</summary>
    public static XattrDigest[] Of(IReadOnlyList<Xattr> xattrs)
    {
        var result = new XattrDigest[xattrs.Count];
        for (int i = 0; i < xattrs.Count; i++)
            result[i] = new XattrDigest(xattrs[i].Name, XxHash3.HashToUInt64(xattrs[i].Value));
        return result;
    }

    /// <summary>
    /// How the target's attributes differ from the source's, naming each attribute ("user.a differs, user.b
    /// missing on the target, user.c extra on the target"); null when they are the same set with the same values.
    /// </summary>
    public static string? Describe(IReadOnlyList<XattrDigest> source, IReadOnlyList<XattrDigest> target)
    {
        var theirs = new Dictionary<string, ulong>(target.Count, StringComparer.Ordinal);
        foreach (var t in target)
            theirs[Convert.ToHexString(t.Name)] = t.ValueHash;
        var parts = new List<string>();
        foreach (var s in source)
        {
            var key = Convert.ToHexString(s.Name);
            if (!theirs.Remove(key, out var hash))
                parts.Add($"{RelPath.Display(s.Name)} missing on the target");
            else if (hash != s.ValueHash)
                parts.Add($"{RelPath.Display(s.Name)} differs");
        }
        foreach (var t in target)
        {
            if (theirs.ContainsKey(Convert.ToHexString(t.Name)))
                parts.Add($"{RelPath.Display(t.Name)} extra on the target");
        }
        return parts.Count == 0 ? null : string.Join(", ", parts);
    }
}
