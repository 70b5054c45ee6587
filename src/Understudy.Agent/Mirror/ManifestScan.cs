using System.Buffers;
using System.IO.Hashing;
using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Mirror;

/// <summary>Walks a tree into manifest items (optionally hashing file content with XxHash128, and with the
/// digests of each entry's extended attributes).</summary>
internal static class ManifestScan
{
    /// <param name="replica">The tree is a target's copy: big files read for their hash are dropped from
    /// the page cache behind the reader (see <see cref="HashFile"/>).</param>
    /// <param name="withXattrs">Read each file's and directory's extended attributes (a verify, or the mirror that
    /// repairs what it found): one more open per entry, so only when asked.</param>
    public static IEnumerable<ManifestItem> Scan(FsTree tree, RelPath subtree, bool withHashes,
        Func<RelPath, bool>? descend = null, Action<RelPath, PosixException>? onError = null, Action<RelPath, string>? onSkip = null,
        bool replica = false, bool withXattrs = false)
    {
        var walk = subtree.IsRoot ? tree.Walk(descend, onError, onSkip) : tree.Walk(subtree, descend, onError, onSkip);
        foreach (var e in walk)
        {
            UInt128? hash = null;
            if (withHashes && e.Kind == EntryKind.File)
            {
                try
                {
                    hash = HashFile(tree, e.Path, replica);
                }
                catch (PosixException ex)
                {
                    onError?.Invoke(e.Path, ex);
                    continue;
                }
            }
            yield return new ManifestItem(e, hash, withXattrs ? ReadXattrs(tree, e) : null);
        }
    }

    /// <summary>Null for a symlink (no attributes are mirrored for one) or an entry whose attributes cannot be
    /// read (it vanished meanwhile): the comparison then has nothing to go on, rather than an empty set.</summary>
    public static XattrDigest[]? ReadXattrs(FsTree tree, FileEntry e)
    {
        if (e.Kind == EntryKind.Symlink)
            return null;
        try
        {
            return XattrDigest.Of(tree.ReadXattrs(e.Path));
        }
        catch (PosixException)
        {
            return null;
        }
    }

    /// <summary>XxHash128 of a file's content. With <paramref name="dropBehind"/> (a replica, whose big
    /// files the target writes with O_DIRECT and so are not cached), a file of 1 MiB or more is dropped
    /// from the page cache as it is read: the next read-ahead then reuses those pages instead of taking
    /// fresh ones, which on this project's VM made the copy out of the cache the target's biggest cost
    /// in a checksum mirror (28 % of its CPU). Never on a source: its cache serves its own workload.</summary>
    public static UInt128 HashFile(FsTree tree, RelPath path, bool dropBehind = false)
    {
        using var f = tree.OpenRead(path);
        var h = new XxHash128();
        var buf = ArrayPool<byte>.Shared.Rent(1024 * 1024);
        try
        {
            // Read ahead of the hash: a replica's big files are often not cached (the target writes
            // them with O_DIRECT), and one 1 MiB read at a time left the disk idle between reads.
            const long Ahead = 8L * 1024 * 1024;
            bool big = f.Stat.Size > buf.Length;
            long off = 0, prefetched = 0;
            int n;
            while (true)
            {
                if (big && off >= prefetched - Ahead / 2 && prefetched < f.Stat.Size)
                {
                    f.Prefetch(prefetched, Ahead);
                    prefetched += Ahead;
                }
                if ((n = f.Read(buf, off)) <= 0)
                    break;
                h.Append(buf.AsSpan(0, n));
                if (dropBehind && big)
                    f.DropCache(off, n);
                off += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
        return h.GetCurrentHashAsUInt128();
    }
}
