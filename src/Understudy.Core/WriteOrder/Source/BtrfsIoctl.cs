using System.Buffers.Binary;
using System.Text;
using Understudy.Core.Posix;

namespace Understudy.Core.WriteOrder.Source;

/// <summary>The btrfs ioctls a point source needs, without running <c>btrfs</c> processes. Request numbers and
/// struct layouts are those of the kernel's uapi header linux/btrfs.h (checked with a C program printing
/// <c>sizeof</c>/<c>offsetof</c> on x86_64; the layouts have no pointer-size or endianness dependence except
/// the send args' clone-source pointer, unused here).</summary>
internal static unsafe class BtrfsIoctl
{
    public const long SuperMagic = 0x9123683E;

    /// <summary>The inode number of every subvolume's root directory (BTRFS_FIRST_FREE_OBJECTID).</summary>
    public const ulong SubvolumeRootIno = 256;

    private const nuint SnapCreateV2 = 0x50009417;   // _IOW(0x94, 23, struct btrfs_ioctl_vol_args_v2), 4096 bytes
    private const nuint SubvolCreate = 0x5000940e;   // _IOW(0x94, 14, struct btrfs_ioctl_vol_args), 4096 bytes
    private const nuint SnapDestroy = 0x5000940f;    // _IOW(0x94, 15, struct btrfs_ioctl_vol_args)
    private const nuint Send = 0x40489426;           // _IOW(0x94, 38, struct btrfs_ioctl_send_args), 72 bytes
    private const nuint GetSubvolInfo = 0x81f8943c;  // _IOR(0x94, 60, struct btrfs_ioctl_get_subvol_info_args), 504 bytes
    private const nuint FsInfo = 0x8400941f;         // _IOR(0x94, 31, struct btrfs_ioctl_fs_info_args), 1024 bytes
    private const nuint SubvolGetFlags = 0x80089419; // _IOR(0x94, 25, __u64)
    private const nuint GetSubvolRootref = 0xd000943d; // _IOWR(0x94, 61, struct btrfs_ioctl_get_subvol_rootref_args), 4096 bytes

    public const ulong SubvolReadOnly = 1UL << 1;    // BTRFS_SUBVOL_RDONLY, the ioctls' flag
    private const ulong FsInfoFlagGeneration = 1UL << 1;
    private const int SubvolNameMax = 4039;          // BTRFS_SUBVOL_NAME_MAX; vol_args' name is 4088 bytes

    /// <summary>statfs(2)'s f_type of the file system <paramref name="fd"/> is on.</summary>
    public static long FileSystemType(SafeFd fd, string display)
    {
        var buf = stackalloc byte[256];
        if (Libc.fstatfs(fd, buf) != 0)
            throw PosixException.FromLastError("fstatfs", display);
        return *(long*)buf;
    }

    /// <summary>A read-only snapshot of the subvolume whose root is <paramref name="source"/>, named
    /// <paramref name="name"/> in the directory <paramref name="destDir"/>. The kernel flushes the source's
    /// delalloc and commits the transaction before returning: the snapshot is the subvolume as a power cut
    /// would have left it at one instant.</summary>
    public static void SnapshotReadOnly(SafeFd source, SafeFd destDir, string name, string display)
    {
        var a = new byte[4096];
        BinaryPrimitives.WriteInt64LittleEndian(a, source.Fd);
        BinaryPrimitives.WriteUInt64LittleEndian(a.AsSpan(16), SubvolReadOnly);
        PutName(a.AsSpan(56), name, SubvolNameMax);
        Call(destDir, SnapCreateV2, a, "BTRFS_IOC_SNAP_CREATE_V2", display);
    }

    /// <summary>An empty subvolume <paramref name="name"/> in <paramref name="dir"/>.</summary>
    public static void CreateSubvolume(SafeFd dir, string name, string display)
    {
        var a = new byte[4096];
        PutName(a.AsSpan(8), name, 4087);
        Call(dir, SubvolCreate, a, "BTRFS_IOC_SUBVOL_CREATE", display);
    }

    /// <summary>Deletes the subvolume (snapshot) <paramref name="name"/> in <paramref name="dir"/>. The unlink is
    /// immediate; the kernel's cleaner thread frees its tree later, in transactions of its own.</summary>
    public static void DestroySubvolume(SafeFd dir, string name, string display)
    {
        var a = new byte[4096];
        PutName(a.AsSpan(8), name, 4087);
        Call(dir, SnapDestroy, a, "BTRFS_IOC_SNAP_DESTROY", display);
    }

    /// <summary>Writes the send stream of the read-only snapshot <paramref name="snapshot"/> into
    /// <paramref name="outFd"/> (blocks until done): incremental from the subvolume with tree id
    /// <paramref name="parentRoot"/> when not 0. No clone sources are passed, so the kernel clones only from
    /// <paramref name="snapshot"/> itself (extents behind the current send position) and sends any range shared
    /// with the parent as data; <c>btrfs send -p</c> would also pass the parent as a clone source, and a clone
    /// from the parent cannot be applied to a replica that is changing under the point.</summary>
    public static void SendStream(SafeFd snapshot, int outFd, ulong parentRoot, string display)
    {
        var a = new byte[72];
        BinaryPrimitives.WriteInt64LittleEndian(a, outFd);
        BinaryPrimitives.WriteUInt64LittleEndian(a.AsSpan(24), parentRoot);
        Call(snapshot, Send, a, "BTRFS_IOC_SEND", display);
    }

    public static SubvolumeInfo Info(SafeFd subvolume, string display)
    {
        var a = new byte[504];
        Call(subvolume, GetSubvolInfo, a, "BTRFS_IOC_GET_SUBVOL_INFO", display);
        return new SubvolumeInfo(
            TreeId: BinaryPrimitives.ReadUInt64LittleEndian(a),
            Generation: BinaryPrimitives.ReadUInt64LittleEndian(a.AsSpan(280)),
            Flags: BinaryPrimitives.ReadUInt64LittleEndian(a.AsSpan(288)),
            Uuid: new Guid(a.AsSpan(296, 16), bigEndian: true),
            Otransid: BinaryPrimitives.ReadUInt64LittleEndian(a.AsSpan(352)));
    }

    /// <summary>The file system's generation: the id of its newest transaction, running or committed. Any
    /// change that must reach the disk (a write being written back or fsynced, any metadata change) runs in a
    /// transaction, so it is greater than a snapshot's creation transaction once anything changed after the
    /// snapshot. Null when the kernel does not report it (older kernels clear the flag).</summary>
    public static ulong? FsGeneration(SafeFd fd, string display)
    {
        var a = new byte[1024];
        BinaryPrimitives.WriteUInt64LittleEndian(a.AsSpan(48), FsInfoFlagGeneration);
        Call(fd, FsInfo, a, "BTRFS_IOC_FS_INFO", display);
        ulong flags = BinaryPrimitives.ReadUInt64LittleEndian(a.AsSpan(48));
        return (flags & FsInfoFlagGeneration) != 0 ? BinaryPrimitives.ReadUInt64LittleEndian(a.AsSpan(56)) : null;
    }

    /// <summary>The subvolumes directly below the subvolume <paramref name="subvolume"/> (BTRFS_IOC_GET_SUBVOL_ROOTREF,
    /// Linux 4.18): each one's tree id and the inode of the directory holding it. The kernel returns at most 255 per
    /// call and EOVERFLOW when there are more; the call is repeated from the next tree id.</summary>
    public static List<(ulong TreeId, ulong DirIno)> ChildSubvolumes(SafeFd subvolume, string display)
    {
        var found = new List<(ulong, ulong)>();
        ulong min = 0;
        while (true)
        {
            var a = new byte[4096];
            BinaryPrimitives.WriteUInt64LittleEndian(a, min);
            int r;
            fixed (byte* p = a)
            {
                do
                    r = Libc.ioctl(subvolume, GetSubvolRootref, p);
                while (r < 0 && Sys.Errno == Libc.EINTR);
            }
            int errno = r < 0 ? Sys.Errno : 0;
            if (r < 0 && errno != EOverflow)
                throw new PosixException(errno, "BTRFS_IOC_GET_SUBVOL_ROOTREF", display);
            int n = a[8 + (255 * 16)];
            for (int i = 0; i < n; i++)
            {
                ulong tree = BinaryPrimitives.ReadUInt64LittleEndian(a.AsSpan(8 + (i * 16)));
                found.Add((tree, BinaryPrimitives.ReadUInt64LittleEndian(a.AsSpan(16 + (i * 16)))));
            }
            if (r >= 0 || n == 0)
                return found;
            min = BinaryPrimitives.ReadUInt64LittleEndian(a); // the kernel leaves the next tree id to ask from
        }
    }

    private const int EOverflow = 75;

    public static ulong SubvolumeFlags(SafeFd subvolume, string display)
    {
        ulong flags;
        if (Libc.ioctl(subvolume, SubvolGetFlags, &flags) < 0)
            throw PosixException.FromLastError("BTRFS_IOC_SUBVOL_GETFLAGS", display);
        return flags;
    }

    private static void PutName(Span<byte> field, string name, int max)
    {
        int n = Encoding.UTF8.GetByteCount(name);
        if (n == 0 || n > max || name.Contains('/', StringComparison.Ordinal) || name is "." or "..")
            throw new ArgumentException($"'{name}' is not a subvolume name", nameof(name));
        Encoding.UTF8.GetBytes(name, field);
    }

    private static void Call(SafeFd fd, nuint request, byte[] arg, string op, string display)
    {
        int r;
        fixed (byte* p = arg)
        {
            do
                r = Libc.ioctl(fd, request, p);
            while (r < 0 && Sys.Errno == Libc.EINTR);
        }
        // -1 is the only failure: BTRFS_IOC_GET_SUBVOL_INFO returns 1 on success on Linux 6.18 (a search's
        // "not found exactly" left in its return value), which the kernel's callers, btrfs-progs, ignore.
        if (r < 0)
            throw PosixException.FromLastError(op, display);
    }
}

/// <summary>What BTRFS_IOC_GET_SUBVOL_INFO says of a subvolume: its tree id (a send's parent_root), its
/// generation, the root item's flags, UUID and creation transaction.</summary>
internal readonly record struct SubvolumeInfo(ulong TreeId, ulong Generation, ulong Flags, Guid Uuid, ulong Otransid)
{
    /// <summary>The on-disk root item's BTRFS_ROOT_SUBVOL_RDONLY (bit 0), which GET_SUBVOL_INFO reports as is; not
    /// the ioctls' BTRFS_SUBVOL_RDONLY (bit 1).</summary>
    public bool IsReadOnly => (Flags & 1) != 0;
}
