using Understudy.Core.Paths;

namespace Understudy.Core.Posix;

/// <summary>
/// Where a restore keeps what it replaces or removes on the source (<c>restore.replaced: keep</c>): one reserved
/// directory at the root of the tree (<see cref="RestoreDirName"/>), beside the work directory and reserved like it
/// (<see cref="IsReserved"/>): walks and manifests never list it, so a restore never deletes it and forward
/// replication never sends it, and nothing a peer sends can name it. Kept on the tree's own file system: a second
/// name for a replaced file (its new content arrives by temp + rename, so the old inode stays whole under the kept
/// name), a rename for a removed entry.
/// </summary>
internal sealed partial class FsTree
{
    /// <summary>The restore directory's name at the tree root.</summary>
    public static ReadOnlySpan<byte> RestoreDirName => ".understudy-restore"u8;

    private static bool IsUnderTop(ReadOnlySpan<byte> b, ReadOnlySpan<byte> top) =>
        b.StartsWith(top) && (b.Length == top.Length || b[top.Length] == (byte)'/');

    /// <summary>
    /// Keeps <paramref name="path"/> as <paramref name="keptAs"/> (a path below <see cref="RestoreDirName"/>): moved
    /// there (<paramref name="move"/>) or given it as a second name (a file about to be replaced). Missing parents are
    /// made (the top one 0700, the root's mtime put back). False, and nothing done, when <paramref name="keptAs"/>
    /// already exists: the version kept first stays.
    /// </summary>
    /// <exception cref="PosixException">EXDEV when <paramref name="path"/> is on another mount inside the tree.</exception>
    public bool KeepAside(RelPath path, RelPath keptAs, bool move)
    {
        RequireNotRoot(path, nameof(path));
        RefuseReserved(path);
        if (!IsUnderTop(keptAs.Bytes, RestoreDirName) || keptAs.Bytes.Length == RestoreDirName.Length)
            throw new ArgumentException("A kept name must be below the restore directory.", nameof(keptAs));
        EnsureRestoreDir();
        using var from = ResolveDir(path.Parent, create: false);
        using var to = ResolveDir(keptAs.Parent, create: true);
        var zkept = Sys.Z(keptAs.Name);
        if (Sys.TryStatx(to, zkept, Libc.AT_SYMLINK_NOFOLLOW, out _) == 0)
            return false;
        var zname = Sys.Z(path.Name);
        int e = move ? Sys.TryRenameAt(from, zname, to, zkept) : Sys.TryLinkAt(from, zname, to, zkept);
        if (e == Libc.EEXIST)
            return false;
        if (e != 0)
            throw new PosixException(e, move ? "rename" : "link", $"{Show(path)} -> {keptAs}");
        return true;
    }

    /// <summary>Makes the restore directory (0700) when missing; a non-directory in its place is removed (reserved).</summary>
    private void EnsureRestoreDir()
    {
        var zname = Sys.Z(RestoreDirName);
        if (Sys.TryStatx(_root, zname, Libc.AT_SYMLINK_NOFOLLOW, out var buf) == 0 && (buf.Mode & Libc.S_IFMT) == Libc.S_IFDIR)
            return;
        string display = RootDisplay + "/" + RelPath.Display(RestoreDirName);
        // Made where the user's tree is: the root's mtime is put back, as for the work directory (FsTree.Work.cs).
        long rootMtime = Sys.Fstat(_root, RootDisplay).MtimeNs;
        Sys.RemoveEntry(_root, zname, display);
        int m = Sys.TryMkdirAt(_root, zname, 0x1C0);
        if (m != 0 && m != Libc.EEXIST)
            throw new PosixException(m, "mkdir", display);
        Metadata.SetDirectoryMtime(_root, rootMtime, RootDisplay);
    }
}
