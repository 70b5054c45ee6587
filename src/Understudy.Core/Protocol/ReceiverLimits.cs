using Understudy.Core.Paths;
using Understudy.Core.Posix;

namespace Understudy.Core.Protocol;

/// <summary>
/// What a receiver accepts, in one place for both sides: the reader refuses anything beyond these limits as a
/// protocol violation (<see cref="WireReader.Path"/>, <see cref="XattrCodec"/>), which ends the connection, so a
/// sender checks an entry against them first and leaves out one that does not fit ("not protected"), instead of
/// cutting its own link on it for ever. Part of the protocol version: both sides of a version agree on them.
/// A reason is a phrase that completes "not protected: …".
/// </summary>
internal static class ReceiverLimits
{
    /// <summary>Why the target cannot take an entry at <paramref name="targetPath"/> (relative to the job's
    /// target path), or null. Everything below such a directory is out too (its paths are longer, or reserved).</summary>
    public static string? PathProblem(RelPath targetPath)
    {
        if (targetPath.Length > RelPath.MaxLength)
            return $"its path on the target is {targetPath.Length} bytes long, more than the {RelPath.MaxLength} a path may have (PATH_MAX)";
        if (FsTree.IsReserved(targetPath))
            return $"its name is reserved on the target for Understudy's own files ({RelPath.Display(FsTree.WorkDirName)} and {RelPath.Display(FsTree.RestoreDirName)} at the top of the target path)";
        return null;
    }

    /// <summary>Why the target cannot take these extended attributes, or null. The entry itself is replicated
    /// without them (its content, mode, owner and times); its extended attributes are not.</summary>
    public static string? XattrProblem(IReadOnlyList<Xattr>? xattrs)
    {
        if (xattrs is null)
            return null;
        if (xattrs.Count > XattrCodec.MaxCount)
            return $"it has {xattrs.Count} extended attributes, more than the {XattrCodec.MaxCount} an entry may carry; they are not replicated";
        long total = 0;
        foreach (var x in xattrs)
        {
            if (x.Name.Length > XattrCodec.MaxName || x.Value.Length > XattrCodec.MaxValue)
                return $"its extended attribute {RelPath.Display(x.Name)} is longer than a name of {XattrCodec.MaxName} or a value of {XattrCodec.MaxValue} bytes; they are not replicated";
            total += x.Name.Length + x.Value.Length;
        }
        if (total > XattrCodec.MaxTotal)
            return $"its extended attributes take {total} bytes, more than the {XattrCodec.MaxTotal} an entry may carry; they are not replicated";
        return null;
    }
}
