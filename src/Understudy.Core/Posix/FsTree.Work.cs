using Understudy.Core.Paths;

namespace Understudy.Core.Posix;

/// <summary>
/// Where temporary names live: one hidden work directory at the root of the tree
/// (<see cref="WorkDirName"/>), never in the user's directories, so no temporary can collide with
/// a user's file whatever it is called (a user's <c>.ustd~x</c> is data like any other). A file is
/// written there and renamed into its directory, which needs both on one mount: a destination on
/// another mount inside the tree (a mount point below the root) gets its temporary in its own
/// directory instead, as before (<see cref="TempDirFor"/>). The work directory is kept (making it
/// again for each session would move the root's mtime each time); manifests, walks and the sender
/// leave it out, and nothing a source sends can name it.
/// </summary>
internal sealed partial class FsTree
{
    /// <summary>The work directory's name at the tree root; reserved (<see cref="IsReserved"/>): a source entry of that
    /// name at the top of the tree is not replicated.</summary>
    public static ReadOnlySpan<byte> WorkDirName => ".understudy-tmp"u8;

    /// <summary>True for the work directory, the restore directory (<see cref="RestoreDirName"/>, FsTree.Keep.cs) and
    /// everything in them (a path relative to a tree root).</summary>
    public static bool IsReserved(RelPath path) => IsUnderTop(path.Bytes, WorkDirName) || IsUnderTop(path.Bytes, RestoreDirName);

    /// <summary>The path guard's part: nothing a peer sends may change the work or restore directory (EPERM).</summary>
    private void RefuseReserved(RelPath path)
    {
        if (IsReserved(path))
            throw new PosixException(Libc.EPERM, "reserved for Understudy's own files", Show(path));
    }

    private readonly Lock _workLock = new();
    private SafeFd? _work;
    private ulong _workMount;

    /// <summary>The work directory (O_PATH), made on first use (0700); a non-directory in its place is removed.</summary>
    private SafeFd WorkDir()
    {
        lock (_workLock)
        {
            if (_work is { } w)
                return w;
            var zname = Sys.Z(WorkDirName);
            string display = RootDisplay + "/" + RelPath.Display(WorkDirName);
            int e = Sys.TryOpenAt(_root, zname, DirPathFlags | Libc.O_DIRECTORY | Libc.O_NOFOLLOW, 0, out var fd);
            if (e != 0)
            {
                fd.Dispose();
                // Made where the user's tree is: the root's mtime is put back, or the replica would differ from its
                // source until the root's next change (convergence seed 909: idle with the root's mtime moved).
                long rootMtime = Sys.Fstat(_root, RootDisplay).MtimeNs;
                if (e != Libc.ENOENT)
                    Sys.RemoveEntry(_root, zname, display); // a file or symlink of that name: not ours to keep (reserved)
                int m = Sys.TryMkdirAt(_root, zname, 0x1C0);
                if (m != 0 && m != Libc.EEXIST)
                    throw new PosixException(m, "mkdir", display);
                Metadata.SetDirectoryMtime(_root, rootMtime, RootDisplay);
                fd = Sys.OpenAt(_root, zname, DirPathFlags | Libc.O_DIRECTORY | Libc.O_NOFOLLOW, 0, "open", display);
            }
            _workMount = Sys.MountId(fd, display);
            return _work = fd;
        }
    }

    /// <summary>
    /// The directory a temporary for a file in <paramref name="parent"/> is made in: the work directory when both
    /// are on one mount (rename and link work between them), else <paramref name="parent"/> itself. Not owned by
    /// the caller when it is the work directory.
    /// </summary>
    private SafeFd TempDirFor(SafeFd parent, string display)
    {
        var work = WorkDir();
        return Sys.MountId(parent, display) == _workMount ? work : parent;
    }

    /// <summary>Empties the work directory: temporaries of an interrupted write (a crash, a cut link). Files under
    /// temporary names beside their destination on a nested mount are left alone: they cannot be told from user data.</summary>
    public int RemoveStaleTemps()
    {
        string display = RootDisplay + "/" + RelPath.Display(WorkDirName);
        int e = Sys.TryOpenAt(_root, Sys.Z(WorkDirName), DirReadFlags | Libc.O_DIRECTORY, 0, out var dir);
        using var _ = dir;
        if (e is Libc.ENOENT or Libc.ENOTDIR or Libc.ELOOP)
            return 0; // none yet (it is made when first needed), or not ours: WorkDir replaces it then
        if (e != 0)
            throw new PosixException(e, "open", display);
        int n = 0;
        foreach (var (z, _) in Sys.ReadDir(dir, display))
        {
            if (Sys.RemoveEntry(dir, z, display))
                n++;
        }
        return n;
    }

    private void DisposeWork()
    {
        lock (_workLock)
        {
            _work?.Dispose();
            _work = null;
        }
    }
}
