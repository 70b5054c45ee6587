using Understudy.Core.Manifest;
using Understudy.Core.Paths;

namespace Understudy.Core.Posix;

internal sealed partial class FsTree
{
    /// <summary>lstat of <paramref name="path"/>; null when it (or its parent) does not exist.</summary>
    public StatInfo? Lstat(RelPath path)
    {
        if (path.IsRoot)
            return Sys.Fstat(_root, RootDisplay);
        using var parent = TryResolveParent(path);
        if (parent is null)
            return null;
        int e = Sys.TryStatx(parent, Sys.Z(path.Name), Libc.AT_SYMLINK_NOFOLLOW, out var buf);
        if (e == Libc.ENOENT || e == Libc.ENOTDIR)
            return null;
        if (e != 0)
            throw new PosixException(e, "lstat", Show(path));
        return StatInfo.From(buf);
    }

    /// <summary>The target of a symlink, byte for byte.</summary>
    public byte[] ReadLink(RelPath path)
    {
        RequireNotRoot(path, nameof(path));
        using var parent = ResolveDir(path.Parent, create: false);
        return Sys.ReadLinkAt(parent, Sys.Z(path.Name), Show(path));
    }

    /// <summary>Extended attributes of a file or directory, sorted by name; empty when there
    /// are none, the file system has none, or the entry is a symlink (user.* cannot exist on
    /// symlinks, and reading through one would follow it).</summary>
    public IReadOnlyList<Xattr> ReadXattrs(RelPath path)
    {
        using var fd = OpenForMetadata(path, out bool isSymlink);
        return isSymlink ? [] : Xattrs.Read(fd!, Show(path));
    }

    /// <summary>Opens a regular file for reading. A symlink is never followed (ELOOP); a fifo
    /// planted in its place cannot block the open (O_NONBLOCK) and is refused like any other
    /// non-regular file.</summary>
    public FileReader OpenRead(RelPath path)
    {
        RequireNotRoot(path, nameof(path));
        string display = Show(path);
        using var parent = ResolveDir(path.Parent, create: false);
        var fd = Sys.OpenAt(parent, Sys.Z(path.Name), Libc.O_RDONLY | Libc.O_NOFOLLOW | Libc.O_NONBLOCK | Libc.O_CLOEXEC, 0, "open", display);
        try
        {
            var stat = Sys.Fstat(fd, display);
            if (stat.Kind != EntryKind.File)
                throw new PosixException(stat.Kind == EntryKind.Directory ? Libc.EISDIR : Libc.EINVAL, "open (not a regular file)", display);
            return new FileReader(fd, stat, display);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>Opens a file or directory (not following a final symlink) so metadata can be
    /// read or changed through the fd. Returns null with isSymlink = true for a symlink.</summary>
    private SafeFd? OpenForMetadata(RelPath path, out bool isSymlink)
    {
        isSymlink = false;
        if (path.IsRoot)
            return Sys.OpenAt(_root, s_dot, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0, "open", RootDisplay);
        string display = Show(path);
        using var parent = ResolveDir(path.Parent, create: false);
        int e = Sys.TryOpenAt(parent, Sys.Z(path.Name), Libc.O_RDONLY | Libc.O_NOFOLLOW | Libc.O_NONBLOCK | Libc.O_CLOEXEC, 0, out var fd);
        if (e == 0)
            return fd;
        fd.Dispose();
        if (e == Libc.ELOOP)
        {
            isSymlink = true;
            return null;
        }
        throw new PosixException(e, "open", display);
    }
}
