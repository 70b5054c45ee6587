using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Understudy.Agent.Tests.Replication.Convergence;

/// <summary>
/// The comparator's own system calls (statx, xattrs, SEEK_DATA/SEEK_HOLE), written for it alone so that it shares
/// nothing with the product's Posix layer: a bug there must not hide itself by reading both trees the same wrong way.
/// </summary>
internal static partial class SnapshotLibc
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxBasicStats = 0x7ff;
    private const int ENODATA = 61;
    private const int ENXIO = 6;
    private const int SeekData = 3;
    private const int SeekHole = 4;

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatxNative(int dirfd, string path, int flags, uint mask, byte[] buf);

    [LibraryImport("libc", EntryPoint = "llistxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint LlistxattrNative(string path, byte[]? list, nuint size);

    [LibraryImport("libc", EntryPoint = "lgetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint LgetxattrNative(string path, string name, byte[]? value, nuint size);

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static partial long LseekNative(SafeHandle fd, long offset, int whence);

    internal readonly record struct Stat(uint Mode, uint Uid, uint Gid, uint Nlink, ulong Inode, long Size, long Blocks, long MtimeSec, uint MtimeNsec);

    public static Stat Lstat(string path)
    {
        var b = new byte[256];
        if (StatxNative(AtFdCwd, path, AtSymlinkNoFollow, StatxBasicStats, b) != 0)
            throw new IOException($"statx {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        var s = b.AsSpan();
        return new Stat(
            Mode: BinaryPrimitives.ReadUInt16LittleEndian(s[28..]),
            Uid: BinaryPrimitives.ReadUInt32LittleEndian(s[20..]),
            Gid: BinaryPrimitives.ReadUInt32LittleEndian(s[24..]),
            Nlink: BinaryPrimitives.ReadUInt32LittleEndian(s[16..]),
            Inode: BinaryPrimitives.ReadUInt64LittleEndian(s[32..]),
            Size: BinaryPrimitives.ReadInt64LittleEndian(s[40..]),
            Blocks: BinaryPrimitives.ReadInt64LittleEndian(s[48..]),
            MtimeSec: BinaryPrimitives.ReadInt64LittleEndian(s[112..]),
            MtimeNsec: BinaryPrimitives.ReadUInt32LittleEndian(s[120..]));
    }

    /// <summary>Every attribute of the entry itself (symlinks not followed), "name=hex" sorted by name, one per line.</summary>
    public static string Xattrs(string path)
    {
        var size = LlistxattrNative(path, null, 0);
        if (size <= 0)
            return "";
        var list = new byte[size + 256];
        var n = LlistxattrNative(path, list, (nuint)list.Length);
        if (n <= 0)
            return "";
        var names = Encoding.UTF8.GetString(list, 0, (int)n).Split('\0', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal);
        var sb = new StringBuilder();
        foreach (var name in names)
        {
            var vlen = LgetxattrNative(path, name, null, 0);
            if (vlen < 0)
            {
                if (Marshal.GetLastPInvokeError() == ENODATA)
                    continue; // removed between the list and the read
                throw new IOException($"lgetxattr {path} {name}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
            }
            var value = new byte[vlen];
            var got = vlen == 0 ? 0 : LgetxattrNative(path, name, value, (nuint)value.Length);
            sb.Append(name).Append('=').Append(Convert.ToHexString(value, 0, (int)Math.Max(0, got))).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>The file's data extents as "start-end" pairs (SEEK_DATA/SEEK_HOLE), rounded out to 4 KiB blocks.</summary>
    public static string DataExtents(SafeHandle fd, long size)
    {
        var sb = new StringBuilder();
        long at = 0;
        while (at < size)
        {
            long data = LseekNative(fd, at, SeekData);
            if (data < 0)
            {
                if (Marshal.GetLastPInvokeError() == ENXIO)
                    break; // only a hole remains
                throw new IOException($"SEEK_DATA: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
            }
            long hole = LseekNative(fd, data, SeekHole);
            if (hole < 0)
                hole = size;
            sb.Append(data & ~4095L).Append('-').Append(Math.Min(size, (hole + 4095) & ~4095L)).Append(' ');
            at = hole;
        }
        return sb.ToString().TrimEnd();
    }
}
