using Understudy.Core.Manifest;
using Understudy.Core.Posix;

namespace Understudy.Agent.Source;

/// <summary>
/// Holes: a mirror writes only a file's data extents, so a sparse file stays sparse on the target. A target
/// copy that takes clearly more disk than the source's data has had its holes filled (written as zeros). File
/// systems allocate differently (block size, metadata blocks, preallocation past the end, compression), so
/// only a large excess counts, and only in that direction: a target sparser than its source is no loss.
/// </summary>
internal static class Allocation
{
    /// <summary>Excess allocation below this (or below 1/64 of the file) is file-system noise, not a filled hole.</summary>
    public const long MinExcess = 1L << 20;

    /// <summary>
    /// Why the target's copy of a file looks filled, or null. <paramref name="sourceDataBytes"/> is asked only when
    /// st_blocks says so: a file system that compresses (ZFS) reports fewer blocks than the file has data, while its
    /// data extents (SEEK_DATA) are what a mirror writes.
    /// </summary>
    public static string? FilledHoles(FileEntry source, FileEntry target, Func<long?> sourceDataBytes)
    {
        if (source.Kind != EntryKind.File || target.Kind != EntryKind.File || source.Size != target.Size
            || source.AllocatedBytes < 0 || target.AllocatedBytes < 0)
            return null;
        // Preallocation past the end (XFS grows files speculatively) is not part of the copy.
        long cap = (source.Size + 4095) / 4096 * 4096;
        long src = Math.Min(source.AllocatedBytes, cap);
        long tgt = Math.Min(target.AllocatedBytes, cap);
        long slack = Math.Max(MinExcess, source.Size / 64);
        if (tgt - src <= slack)
            return null;
        if (sourceDataBytes() is not { } data || tgt - Math.Max(src, data) <= slack)
            return null;
        return $"{tgt} bytes allocated on the target for {Math.Max(src, data)} bytes of data on the source (holes filled)";
    }

    /// <summary>Bytes in the file's data extents; null when it cannot be read now.</summary>
    public static long? DataBytes(FsTree tree, FileEntry e)
    {
        try
        {
            using var reader = tree.OpenRead(e.Path);
            long sum = 0;
            foreach (var (_, length) in reader.DataExtents())
                sum += length;
            return sum;
        }
        catch (PosixException)
        {
            return null;
        }
    }
}
