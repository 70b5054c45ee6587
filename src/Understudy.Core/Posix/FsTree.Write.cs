using Understudy.Core.Paths;

namespace Understudy.Core.Posix;

internal sealed partial class FsTree
{
    /// <summary>Prefix of every temporary name this layer creates (in the work directory, <see cref="WorkDirName"/>,
    /// except beside a destination on another mount, where it is only a hint for a person looking).</summary>
    internal static ReadOnlySpan<byte> TempPrefix => ".ustd~"u8;

    public static bool IsTempName(ReadOnlySpan<byte> name) => name.StartsWith(TempPrefix);

    /// <summary>Makes <paramref name="path"/> a directory: missing parents are created (0755),
    /// a non-directory at <paramref name="path"/> itself is removed first, and a newly made
    /// directory gets exactly <paramref name="mode"/> (not masked by the umask). An existing
    /// directory is left as it is. A symlink among the parents throws (IsEscape).</summary>
    public void EnsureDirectory(RelPath path, uint mode)
    {
        RefuseReserved(path);
        if (path.IsRoot)
            return;
        string display = Show(path);
        using var parent = ResolveDir(path.Parent, create: true);
        var zname = Sys.Z(path.Name);
        int e = Sys.TryMkdirAt(parent, zname, mode & 0xFFF);
        if (e == Libc.EEXIST)
        {
            if (Sys.TryStatx(parent, zname, Libc.AT_SYMLINK_NOFOLLOW, out var buf) == 0 && (buf.Mode & Libc.S_IFMT) == Libc.S_IFDIR)
                return;
            Sys.RemoveEntry(parent, zname, display);
            e = Sys.TryMkdirAt(parent, zname, mode & 0xFFF);
        }
        if (e != 0)
            throw new PosixException(e, "mkdir", display);
        using var dir = Sys.OpenAt(parent, zname, DirReadFlags | Libc.O_DIRECTORY, 0, "open", display);
        if (Libc.fchmod(dir, mode & 0xFFF) != 0)
            throw PosixException.FromLastError("chmod", display);
    }

    /// <summary>Creates a temporary file beside <paramref name="finalPath"/>, making missing parent
    /// directories, with the permission bits of <paramref name="mode"/> (0600 by default; less the
    /// umask; set-ID bits never), so that one created with its final mode needs no chmod later. Write
    /// it, then <see cref="TempFile.Commit"/> puts it in place; disposing it uncommitted removes it.
    /// With <paramref name="unnamed"/> it has no name at all until then (O_TMPFILE, where the file
    /// system has it): nothing to clean up after a crash, and a commit is one link instead of a
    /// create plus a rename (about a sixth less kernel time per small file here).</summary>
    public TempFile CreateTemp(RelPath finalPath, uint mode = 0x180, bool unnamed = false)
    {
        RequireNotRoot(finalPath, nameof(finalPath));
        RefuseReserved(finalPath);
        var parent = ResolveDir(finalPath.Parent, create: true);
        try
        {
            if (unnamed && s_procFds.Value && !_noTmpFile)
            {
                int t = Sys.TryOpenAt(parent, s_dot, Libc.O_TMPFILE | Libc.O_WRONLY | Libc.O_CLOEXEC, mode & 0x1FF, out var tfd);
                if (t == 0)
                    return new TempFile(this, parent, parent, null, tfd, finalPath, Show(finalPath));
                tfd.Dispose();
                if (t is Libc.EOPNOTSUPP or Libc.EISDIR or Libc.EINVAL)
                    _noTmpFile = true; // this file system (or kernel) has no O_TMPFILE: named temps from now on
                else
                    throw new PosixException(t, "create", Show(finalPath));
            }
            var dir = TempDirFor(parent, Show(finalPath));
            while (true)
            {
                var ztemp = NewTempName();
                int e = Sys.TryOpenAt(dir, ztemp, Libc.O_CREAT | Libc.O_EXCL | Libc.O_WRONLY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, mode & 0x1FF, out var fd);
                if (e == 0)
                    return new TempFile(this, parent, dir, ztemp, fd, finalPath, Show(finalPath));
                fd.Dispose();
                if (e != Libc.EEXIST)
                    throw new PosixException(e, "create", Show(finalPath));
            }
        }
        catch
        {
            parent.Dispose();
            throw;
        }
    }

    /// <summary>Gives an unnamed temp file (<see cref="CreateTemp"/>) its final name. When something is
    /// already there, it is linked under a temporary name first and renamed over it (atomically).</summary>
    internal void CommitLink(SafeFd parent, SafeFd fd, byte[] zfinal, string display)
    {
        int e = Sys.TryLinkFd(fd, parent, zfinal);
        if (e == 0)
            return;
        if (e != Libc.EEXIST)
            throw new PosixException(e, "link", display);
        var dir = TempDirFor(parent, display);
        byte[] ztemp;
        while ((e = Sys.TryLinkFd(fd, dir, ztemp = NewTempName())) == Libc.EEXIST)
        {
        }
        if (e != 0)
            throw new PosixException(e, "link", display);
        try
        {
            CommitRename(dir, ztemp, parent, zfinal, display);
        }
        catch
        {
            Sys.TryUnlinkAt(dir, ztemp, 0);
            throw;
        }
    }

    /// <summary>Creates (or atomically replaces) a symlink whose target text is stored as is;
    /// it is never resolved here.</summary>
    public void Symlink(RelPath path, byte[] target)
    {
        RequireNotRoot(path, nameof(path));
        ArgumentNullException.ThrowIfNull(target);
        RefuseReserved(path);
        if (target.Length == 0 || target.AsSpan().IndexOf((byte)0) >= 0)
            throw new ArgumentException("A symlink target must be non-empty and hold no NUL byte.", nameof(target));
        using var parent = ResolveDir(path.Parent, create: true);
        var ztarget = Sys.Z(target);
        PlaceViaTemp(parent, path, "symlink", (dir, ztemp) => Sys.TrySymlinkAt(ztarget, dir, ztemp));
    }

    /// <summary>Makes <paramref name="path"/> another name of <paramref name="existing"/> (a
    /// symlink at <paramref name="existing"/> is linked itself, not followed), replacing
    /// whatever is at <paramref name="path"/> atomically.</summary>
    public void HardLink(RelPath existing, RelPath path)
    {
        RequireBothChangeable(existing, nameof(existing), path, nameof(path));
        using var from = ResolveDir(existing.Parent, create: false);
        using var parent = ResolveDir(path.Parent, create: true);
        var zexisting = Sys.Z(existing.Name);
        PlaceViaTemp(parent, path, "link", (dir, ztemp) => Sys.TryLinkAt(from, zexisting, dir, ztemp));
    }

    /// <summary>renameat(from, to); the parent of <paramref name="to"/> is created as needed.
    /// Whatever is at <paramref name="to"/> is replaced as rename(2) allows.</summary>
    public void Rename(RelPath from, RelPath to)
    {
        RequireBothChangeable(from, nameof(from), to, nameof(to));
        using var fromDir = ResolveDir(from.Parent, create: false);
        using var toDir = ResolveDir(to.Parent, create: true);
        int e = Sys.TryRenameAt(fromDir, Sys.Z(from.Name), toDir, Sys.Z(to.Name));
        if (e != 0)
            throw new PosixException(e, "rename", $"{Show(from)} -> {to}");
    }

    /// <summary>The two names of a link or rename: both below the root (an ArgumentException first, for either), then
    /// neither reserved (the path guard's EPERM).</summary>
    private void RequireBothChangeable(RelPath from, string fromName, RelPath to, string toName)
    {
        RequireNotRoot(from, fromName);
        RequireNotRoot(to, toName);
        RefuseReserved(from);
        RefuseReserved(to);
    }

    /// <summary>Removes a file, symlink or whole directory tree, never following a symlink.
    /// Absent already is not an error; a parent that is a symlink is (IsEscape).</summary>
    public void Remove(RelPath path)
    {
        RequireNotRoot(path, nameof(path));
        RefuseReserved(path);
        using var parent = TryResolveParent(path);
        if (parent is not null)
            Sys.RemoveEntry(parent, Sys.Z(path.Name), Show(path));
    }

    /// <summary>Sets ownership (only when root), xattrs (replacing the set, when not null),
    /// mode and mtime of a file or directory. For a symlink only ownership and mtime apply.</summary>
    public void SetMetadata(RelPath path, uint mode, uint? uid, uint? gid, long mtimeNs, IReadOnlyList<Xattr>? xattrs)
    {
        RefuseReserved(path);
        string display = Show(path);
        using var fd = OpenForMetadata(path, out bool isSymlink);
        if (!isSymlink)
        {
            Metadata.ApplyToFd(fd!, mode, uid, gid, mtimeNs, xattrs, display);
            return;
        }
        using var parent = ResolveDir(path.Parent, create: false);
        Metadata.ApplyToSymlink(parent, Sys.Z(path.Name), uid, gid, mtimeNs, display);
    }

    /// <summary>Creates an entry under a fresh temporary name, then renames it over
    /// <paramref name="path"/>. A directory in the way is removed first (rename cannot replace
    /// a directory with a non-directory).</summary>
    private void PlaceViaTemp(SafeFd parent, RelPath path, string op, Func<SafeFd, byte[], int> create)
    {
        string display = Show(path);
        var dir = TempDirFor(parent, display);
        byte[] ztemp;
        while (true)
        {
            ztemp = NewTempName();
            int e = create(dir, ztemp);
            if (e == 0)
                break;
            if (e != Libc.EEXIST)
                throw new PosixException(e, op, display);
        }
        try
        {
            CommitRename(dir, ztemp, parent, Sys.Z(path.Name), display);
            // rename(2) does nothing when both names already link the same inode: drop the temp.
            Sys.TryUnlinkAt(dir, ztemp, 0);
        }
        catch
        {
            Sys.TryUnlinkAt(dir, ztemp, 0);
            throw;
        }
    }

    /// <summary>Renames temporary <paramref name="ztemp"/> in <paramref name="tempDir"/> over <paramref name="zfinal"/> in <paramref name="parent"/>.</summary>
    internal static void CommitRename(SafeFd tempDir, byte[] ztemp, SafeFd parent, byte[] zfinal, string display)
    {
        int e = Sys.TryRenameAt(tempDir, ztemp, parent, zfinal);
        if (e is Libc.EISDIR or Libc.ENOTEMPTY or Libc.EEXIST)
        {
            Sys.RemoveEntry(parent, zfinal, display);
            e = Sys.TryRenameAt(tempDir, ztemp, parent, zfinal);
        }
        if (e != 0)
            throw new PosixException(e, "rename", display);
    }

    private static byte[] NewTempName()
    {
        // Not a secret: O_EXCL (and a retry on EEXIST) is what makes the name safe; the thread-safe
        // PRNG saves a trip into OpenSSL (RAND_bytes, a getpid check) per file written.
        Span<byte> rnd = stackalloc byte[8];
        Random.Shared.NextBytes(rnd);
        var name = new byte[TempPrefix.Length + 16 + 1];
        TempPrefix.CopyTo(name);
        System.Text.Encoding.ASCII.GetBytes(Convert.ToHexStringLower(rnd), name.AsSpan(TempPrefix.Length));
        return name;
    }
}
