using Understudy.Core.Manifest;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Source;

internal sealed partial class MirrorEngine
{
    /// <summary>
    /// The mirror of <c>verify --repair</c>: besides size, mtime (or content), mode and owner, it compares what a
    /// verify compares and an ordinary mirror does not look at — extended attributes (the manifest then carries
    /// their digests), holes the target filled, and hard-link groups — and sends what differs. Off for every other
    /// mirror: reading every entry's xattrs on both sides costs a mirror of a large tree an open per entry.
    /// </summary>
    public bool Thorough { get; init; }

    /// <summary>Thorough: a target file with several names, by inode → the source file (device, inode) the first of
    /// those names the plan met belongs to.</summary>
    private readonly Dictionary<ulong, (ulong, ulong)> _claims = [];

    /// <summary>
    /// Thorough: the target's file at this name also carries a name of another source file (they were linked on the
    /// target, or one file there stands for two). The first source file seen keeps it; this name must be given its
    /// own: sent again (a new inode), or linked to its own group's first name.
    /// </summary>
    private bool SharedWithAnother(FileEntry source, ManifestItem? have)
    {
        if (!Thorough || have?.Entry is not { Kind: EntryKind.File, LinkCount: > 1 } t)
            return false;
        var key = (source.Device, source.Inode);
        if (_claims.TryGetValue(t.Inode, out var owner))
            return owner != key;
        _claims[t.Inode] = key;
        return false;
    }

    /// <summary>Thorough: the target's copy of a file the plan would leave alone had its holes filled: send it again
    /// whole (its data extents only, so the holes come back; a delta would write every block).</summary>
    private bool HolesFilled(int r, FileEntry source, ManifestItem have) =>
        Thorough && Allocation.FilledHoles(source, have.Entry, () => Allocation.DataBytes(_trees[r], source)) is not null;

    /// <summary>Thorough: the entry's extended attributes differ (only when the manifest carries the target's).</summary>
    private bool XattrsDiffer(int r, FileEntry source, ManifestItem have) =>
        Thorough && have.Xattrs is { } theirs && Mirror.ManifestScan.ReadXattrs(_trees[r], source) is { } ours
        && XattrDigest.Describe(ours, theirs) is not null;
}
