using System.Text;
using Understudy.Core.Posix;

namespace Understudy.Core.WriteOrder.Source;

/// <summary>Where a protected path's consistency points come from: the btrfs subvolume that holds it (every
/// point is a snapshot of the whole subvolume; the job's paths are a part of it), found by <see cref="Check"/>.</summary>
internal sealed record PointSubvolume(string ProtectedPath, string Root, string RelativePath)
{
    /// <summary>The directory of the points, at the subvolume's root. It is a subvolume of its own: a snapshot
    /// holds a nested subvolume as an empty directory, so no point contains the points (verified by
    /// PointSourceTests), and the snapshots' churn never changes the protected subvolume's tree.</summary>
    public const string PointsDirName = ".understudy-points";

    public string PointsDir => Path.Combine(Root, PointsDirName);

    /// <summary>Refuses, with <see cref="WriteOrderUnsupportedException"/>, a path write-order mode cannot serve:
    /// not a directory; not on btrfs (the message names the file system found); in a read-only subvolume; an agent
    /// without root (BTRFS_IOC_SEND needs CAP_SYS_ADMIN); a kernel without BTRFS_IOC_GET_SUBVOL_INFO (4.18); a
    /// <see cref="PointsDirName"/> that is not a subvolume. This is what <c>job apply</c> calls.</summary>
    public static PointSubvolume Check(string path)
    {
        string full = Path.GetFullPath(path).TrimEnd('/');
        if (full.Length == 0)
            full = "/";
        using var fd = OpenDir(full, path);
        long type = BtrfsIoctl.FileSystemType(fd, full);
        if (type != BtrfsIoctl.SuperMagic)
            throw new WriteOrderUnsupportedException($"write-order mode needs btrfs (it takes btrfs snapshots as consistency points): '{full}' is on {FileSystemName(type)}. Move the data to a btrfs subvolume, or protect it in file mode.");
        if (Libc.geteuid() != 0)
            throw new WriteOrderUnsupportedException($"write-order mode on '{full}' needs the agent to run as root: sending a btrfs snapshot (BTRFS_IOC_SEND) needs CAP_SYS_ADMIN.");
        string root = SubvolumeRoot(full);
        using var rootFd = OpenDir(root, root);
        SubvolumeInfo info;
        try
        {
            info = BtrfsIoctl.Info(rootFd, root);
        }
        catch (PosixException e)
        {
            throw new WriteOrderUnsupportedException($"write-order mode cannot read the btrfs subvolume at '{root}' (holding '{full}'): {e.Message}. It needs Linux 4.18 or later.");
        }
        if (info.IsReadOnly)
            throw new WriteOrderUnsupportedException($"write-order mode: '{full}' is in the read-only btrfs subvolume '{root}'; nothing there can change, and no points directory can be made in it.");
        string points = Path.Combine(root, PointsDirName);
        if (Directory.Exists(points) && !IsSubvolumeRoot(points))
            throw new WriteOrderUnsupportedException($"write-order mode keeps its snapshots in '{points}', which exists but is not a btrfs subvolume; remove or rename it.");
        string rel = Path.GetRelativePath(root, full);
        if (rel == PointsDirName || rel.StartsWith(PointsDirName + "/", StringComparison.Ordinal))
            throw new WriteOrderUnsupportedException($"'{full}' is inside write-order mode's own snapshots directory '{points}'.");
        return new PointSubvolume(full, root, rel == "." ? "" : rel);
    }

    /// <summary><see cref="Check"/>, and what a write-order job adds (its points are the snapshots of one whole
    /// subvolume): <paramref name="path"/> must be the subvolume's root, and no other subvolume may lie below it (a
    /// snapshot holds a nested subvolume as an empty directory, so its data would silently be in no point). What
    /// <c>job apply</c> calls for <c>replication.consistency: write-order</c>.</summary>
    public static PointSubvolume CheckWhole(string path)
    {
        var sub = Check(path);
        if (sub.RelativePath.Length > 0)
            throw new WriteOrderUnsupportedException($"write-order mode protects a whole btrfs subvolume: '{sub.ProtectedPath}' is a directory inside the subvolume '{sub.Root}', not its root. Protect '{sub.Root}', or make '{sub.ProtectedPath}' a subvolume of its own ('btrfs subvolume create' a new one and move the data into it).");
        using var fd = OpenDir(sub.Root, sub.Root);
        ulong points = 0;
        if (Directory.Exists(sub.PointsDir))
        {
            using var pfd = OpenDir(sub.PointsDir, sub.PointsDir);
            points = BtrfsIoctl.Info(pfd, sub.PointsDir).TreeId;
        }
        var nested = BtrfsIoctl.ChildSubvolumes(fd, sub.Root).Where(c => c.TreeId != points).ToList();
        if (nested.Count > 0)
            throw new WriteOrderUnsupportedException($"write-order mode: '{sub.Root}' holds {nested.Count} nested btrfs subvolume(s) (tree id {string.Join(", ", nested.Select(n => n.TreeId))}; 'btrfs subvolume list -o {sub.Root}' names them). A snapshot holds a nested subvolume as an empty directory, so their data would be in no consistency point: move them out, or protect each subvolume with a job of its own.");
        return sub;
    }

    /// <summary>The nearest ancestor of <paramref name="full"/> (itself included) that is a subvolume's root:
    /// btrfs gives every subvolume root inode 256, and no other directory that number.</summary>
    private static string SubvolumeRoot(string full)
    {
        for (string? d = full; d is not null; d = Path.GetDirectoryName(d))
        {
            if (IsSubvolumeRoot(d))
                return d;
        }
        throw new WriteOrderUnsupportedException($"write-order mode: no btrfs subvolume root found above '{full}'.");
    }

    private static bool IsSubvolumeRoot(string dir)
    {
        using var fd = OpenDir(dir, dir);
        return Sys.Fstat(fd, dir).Inode == BtrfsIoctl.SubvolumeRootIno && BtrfsIoctl.FileSystemType(fd, dir) == BtrfsIoctl.SuperMagic;
    }

    internal static unsafe SafeFd OpenDir(string full, string display)
    {
        int fd;
        fixed (byte* p = Sys.Z(Encoding.UTF8.GetBytes(full)))
        {
            do
                fd = Libc.open(p, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
            while (fd < 0 && Sys.Errno == Libc.EINTR);
        }
        if (fd >= 0)
            return new SafeFd(fd);
        int e = Sys.Errno;
        if (e is Libc.ENOTDIR)
            throw new WriteOrderUnsupportedException($"write-order mode protects directories: '{display}' is not one.");
        throw new PosixException(e, "open", display);
    }

    /// <summary>statfs f_type values (linux/magic.h) of the file systems a user is likely to try.</summary>
    private static string FileSystemName(long type) => type switch
    {
        0xEF53 => "ext4 (or ext2/ext3)",
        0x01021994 => "tmpfs",
        0x58465342 => "XFS",
        0x794C7630 => "overlayfs",
        0x6969 => "NFS",
        0xFF534D42 or 0xFE534D42 => "SMB/CIFS",
        0x65735546 => "a FUSE file system",
        0x2FC12FC1 => "ZFS",
        0xF2F52010 => "F2FS",
        0xCA451A4E => "bcachefs",
        0x858458F6 => "ramfs",
        0x4D44 => "FAT",
        0x5346544E or 0x7366746E => "NTFS",
        0x73717368 => "squashfs",
        _ => $"a file system with statfs type 0x{type:X}",
    };
}
