using System.Text;
using Understudy.Core.Posix;

namespace Understudy.Core.WriteOrder;

/// <summary>One command each. Every creation treats "already there" as done and every removal
/// treats "already gone" as done: see the class comment for why that is exact, not a guess.</summary>
internal sealed unsafe partial class PointApplier
{
    private static readonly int DirFlags = Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC;
    private delegate int AtCall(SafeFd dir, byte* path);

    // Files written by WRITE/TRUNCATE since the last boundary, kept open: a database point is mostly
    // many small writes to a few files. Closed at every boundary (a name may change meaning there).
    private readonly Dictionary<string, SafeFd> _open = new(StringComparer.Ordinal);

    private static SafeFd OpenRoot(string path)
    {
        fixed (byte* p = Sys.Z(Encoding.UTF8.GetBytes(path)))
        {
            int fd = Libc.open(p, DirFlags, 0);
            return fd >= 0 ? new SafeFd(fd) : throw PosixException.FromLastError("open", path);
        }
    }

    private void Run(SendCommand c)
    {
        switch (c.Kind)
        {
            case SendCommandKind.MkFile:
                Create(c, (dir, z) =>
                {
                    int e = Sys.TryOpenAt(dir, z, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_EXCL | Libc.O_CLOEXEC, 0x180, out var fd);
                    fd.Dispose();
                    return e;
                });
                break;
            case SendCommandKind.MkDir:
                Create(c, (dir, z) => Sys.TryMkdirAt(dir, z, 0x1C0));
                break;
            case SendCommandKind.MkNod:
                uint mode = (uint)c.U64(SendAttribute.Mode);
                ulong rdev = c.U64(SendAttribute.Rdev);
                Create(c, (dir, z) => MknodAt(dir, z, mode, rdev));
                break;
            case SendCommandKind.MkFifo:
                Create(c, (dir, z) => MknodAt(dir, z, Libc.S_IFIFO | 0x180, 0));
                break;
            case SendCommandKind.MkSock:
                Create(c, (dir, z) => MknodAt(dir, z, Libc.S_IFSOCK | 0x180, 0));
                break;
            case SendCommandKind.Symlink:
                var target = Sys.Z(c.Bytes(SendAttribute.PathLink));
                Create(c, (dir, z) => Sys.TrySymlinkAt(target, dir, z));
                break;
            case SendCommandKind.Link:
                Link(c);
                break;
            case SendCommandKind.Rename:
                Rename(c);
                break;
            case SendCommandKind.Unlink:
                Remove(c, 0, "unlink");
                break;
            case SendCommandKind.Rmdir:
                Remove(c, Libc.AT_REMOVEDIR, "rmdir");
                break;
            case SendCommandKind.Write:
                Write(c);
                break;
            case SendCommandKind.Truncate:
                var f = File(c, SendAttribute.Path);
                if (FileSystem.Current.Ftruncate(f, c.Offset64(SendAttribute.Size)) != 0)
                    throw PosixException.FromLastError("ftruncate", Show(c, SendAttribute.Path));
                break;
            case SendCommandKind.Clone:
                Clone(c);
                break;
            case SendCommandKind.Chmod:
                At(c, "chmod", (dir, z) => Libc.fchmodat(dir, z, (uint)c.U64(SendAttribute.Mode) & 0xFFF & ModeMask, 0));
                break;
            case SendCommandKind.Chown:
                At(c, "chown", (dir, z) => Libc.fchownat(dir, z, (uint)c.U64(SendAttribute.Uid), (uint)c.U64(SendAttribute.Gid), Libc.AT_SYMLINK_NOFOLLOW));
                break;
            case SendCommandKind.Utimes:
                var (aS, aN) = c.Time(SendAttribute.Atime);
                var (mS, mN) = c.Time(SendAttribute.Mtime);
                At(c, "utimes", (dir, z) =>
                {
                    var ts = stackalloc Timespec[2];
                    ts[0] = new Timespec { Sec = aS, Nsec = aN };
                    ts[1] = new Timespec { Sec = mS, Nsec = mN };
                    return Libc.utimensat(dir, z, ts, Libc.AT_SYMLINK_NOFOLLOW);
                });
                break;
            case SendCommandKind.SetXattr:
                SetXattr(c);
                break;
            case SendCommandKind.RemoveXattr:
                RemoveXattr(c);
                break;
            default:
                // UpdateExtent (a stream sent with --no-data), and version 2's Fallocate, FileAttr and
                // EncodedWrite: the source sends version 1 streams with data, so these mean a stream this
                // applier was not built for, and guessing would publish a tree the source never had.
                throw new InvalidSendStreamException($"{c.Kind} is not supported by the write-order applier", c.Offset);
        }
    }

    /// <summary>Runs <paramref name="op"/> on (parent directory, last component) of the command's path.</summary>
    private T InParent<T>(SendCommand c, SendAttribute a, Func<SafeFd, byte[], T> op)
    {
        var path = c.RelativePath(a);
        int slash = path.LastIndexOf((byte)'/');
        var name = Sys.Z(path.Length == 0 ? "."u8 : path[(slash + 1)..]);
        if (slash < 0)
            return op(_root, name);
        int e = Sys.TryOpenBeneath(_root, Sys.Z(path[..slash]), DirFlags, out var dir);
        if (e != 0)
            throw new PosixException(e, "open parent", Show(c, a));
        using (dir)
            return op(dir, name);
    }

    private void Create(SendCommand c, Func<SafeFd, byte[], int> create)
    {
        int e = InParent(c, SendAttribute.Path, create);
        if (e != 0 && e != Libc.EEXIST)
            throw new PosixException(e, c.Kind.ToString().ToLowerInvariant(), Show(c, SendAttribute.Path));
    }

    private static int MknodAt(SafeFd dir, byte[] z, uint mode, ulong rdev)
    {
        fixed (byte* p = z)
            return Libc.mknodat(dir, p, mode, rdev) == 0 ? 0 : Sys.Errno;
    }

    private void Link(SendCommand c)
    {
        // LINK path=new name, path_link=an existing name of the inode (btrfs receive: link(path_link, path)).
        var existing = c.RelativePath(SendAttribute.PathLink).ToArray();
        int e = InParent(c, SendAttribute.Path, (dir, z) =>
        {
            fixed (byte* from = Sys.Z(existing))
            fixed (byte* to = z)
                return FileSystem.Current.LinkAt(_root, from, dir, to, 0) == 0 ? 0 : Sys.Errno;
        });
        if (e != 0 && e != Libc.EEXIST)
            throw new PosixException(e, "link", Show(c, SendAttribute.Path));
    }

    private void Rename(SendCommand c)
    {
        var from = Sys.Z(c.RelativePath(SendAttribute.Path));
        var to = Sys.Z(c.RelativePath(SendAttribute.PathTo));
        // A redo meets the tree exactly before or after this rename: no source means it was done.
        if (Sys.TryStatx(_root, from, Libc.AT_SYMLINK_NOFOLLOW, out var src) == Libc.ENOENT)
            return;
        if (Sys.TryStatx(_root, to, Libc.AT_SYMLINK_NOFOLLOW, out var dst) == 0 && src.Ino == dst.Ino && src.DevMajor == dst.DevMajor && src.DevMinor == dst.DevMinor)
        {
            // rename(2) between two links of one inode does nothing; the stream means "the old name goes".
            if (Sys.TryUnlinkAt(_root, from, 0) is int u and not 0 and not Libc.ENOENT)
                throw new PosixException(u, "rename", Show(c, SendAttribute.Path));
            return;
        }
        int e = Sys.TryRenameAt(_root, from, _root, to);
        if (e != 0)
            throw new PosixException(e, "rename", $"{Show(c, SendAttribute.Path)} -> {Show(c, SendAttribute.PathTo)}");
    }

    private void Remove(SendCommand c, int flags, string op)
    {
        int e = Sys.TryUnlinkAt(_root, Sys.Z(c.RelativePath(SendAttribute.Path)), flags);
        if (e != 0 && e != Libc.ENOENT)
            throw new PosixException(e, op, Show(c, SendAttribute.Path));
    }

    private void At(SendCommand c, string op, AtCall call)
    {
        var z = Sys.Z(c.RelativePath(SendAttribute.Path));
        if (z.Length == 1)
            z = Sys.Z("."u8); // "" is the subvolume's root
        fixed (byte* p = z)
        {
            if (call(_root, p) != 0)
                throw PosixException.FromLastError(op, Show(c, SendAttribute.Path));
        }
    }

    private SafeFd File(SendCommand c, SendAttribute a)
    {
        string key = Encoding.UTF8.GetString(c.RelativePath(a));
        if (_open.TryGetValue(key, out var fd))
            return fd;
        fd = Sys.OpenAt(_root, Sys.Z(c.RelativePath(a)), Libc.O_WRONLY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0, "open", key);
        _open[key] = fd;
        return fd;
    }

    private void Write(SendCommand c)
    {
        var fd = File(c, SendAttribute.Path);
        long offset = c.Offset64(SendAttribute.FileOffset);
        var data = c.Bytes(SendAttribute.Data);
        fixed (byte* b = data)
        {
            int done = 0;
            while (done < data.Length)
            {
                nint n = FileSystem.Current.Pwrite(fd, b + done, (nuint)(data.Length - done), offset + done);
                if (n < 0)
                {
                    if (Sys.Errno == Libc.EINTR)
                        continue;
                    throw PosixException.FromLastError("pwrite", Show(c, SendAttribute.Path));
                }
                done += (int)n;
            }
        }
    }

    /// <summary>A clone from the subvolume being sent (a reflinked copy inside it) is a copy from the
    /// replica, which at this command holds what the stream's path names. A clone from another subvolume
    /// (the parent point) names a path in that snapshot, which the replica has been changing since the
    /// point began: the source must send those ranges as writes (left for the integration).</summary>
    private void Clone(SendCommand c)
    {
        var uuid = c.Uuid(SendAttribute.CloneUuid);
        if (uuid != _uuid)
            throw new InvalidSendStreamException($"Clone from subvolume {uuid} (the parent point is {_parentUuid}): only clones within the sent snapshot can be applied; the source must send that range as data", c.Offset);
        var dst = File(c, SendAttribute.Path);
        long dstOff = c.Offset64(SendAttribute.FileOffset);
        long srcOff = c.Offset64(SendAttribute.CloneOffset);
        long len = c.Offset64(SendAttribute.CloneLen);
        using var src = Sys.OpenAt(_root, Sys.Z(c.RelativePath(SendAttribute.ClonePath)), Libc.O_RDONLY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0, "open", Show(c, SendAttribute.ClonePath));
        var buf = new byte[Math.Min(len, 1 << 20)];
        fixed (byte* b = buf)
        {
            while (len > 0)
            {
                nint n = Libc.pread(src, b, (nuint)Math.Min(len, buf.Length), srcOff);
                if (n < 0 && Sys.Errno == Libc.EINTR)
                    continue;
                if (n < 0)
                    throw PosixException.FromLastError("pread", Show(c, SendAttribute.ClonePath));
                if (n == 0)
                    break; // past the source's end: a clone of a range ending at EOF rounded up to a block
                for (nint done = 0; done < n;)
                {
                    nint w = FileSystem.Current.Pwrite(dst, b + done, (nuint)(n - done), dstOff + done);
                    if (w < 0 && Sys.Errno == Libc.EINTR)
                        continue;
                    if (w < 0)
                        throw PosixException.FromLastError("pwrite", Show(c, SendAttribute.Path));
                    done += w;
                }
                srcOff += n;
                dstOff += n;
                len -= n;
            }
        }
    }

    private string FullPath(SendCommand c) => _rootPath + "/" + Encoding.UTF8.GetString(c.RelativePath(SendAttribute.Path));

    private byte[] FullPathZ(SendCommand c)
    {
        var rel = c.RelativePath(SendAttribute.Path);
        var root = Encoding.UTF8.GetBytes(_rootPath);
        var z = new byte[root.Length + 1 + rel.Length + 1];
        root.CopyTo(z, 0);
        z[root.Length] = (byte)'/';
        rel.CopyTo(z.AsSpan(root.Length + 1));
        return z;
    }

    // Extended attributes by path (l*xattr): the replica's directories are the source's, never symlinks, and
    // a symlink's own attributes (security.*) need the path form anyway.
    private void SetXattr(SendCommand c)
    {
        if (Skipped(c))
            return;
        var name = Sys.Z(c.Bytes(SendAttribute.XattrName));
        var value = c.Bytes(SendAttribute.XattrData);
        fixed (byte* p = FullPathZ(c))
        fixed (byte* n = name)
        fixed (byte* v = value)
        {
            if (Libc.lsetxattr(p, n, v, (nuint)value.Length, 0) != 0)
                throw PosixException.FromLastError("setxattr", FullPath(c));
        }
    }

    private bool Skipped(SendCommand c) =>
        SkipPrivilegedXattrs && (c.Bytes(SendAttribute.XattrName).StartsWith("security."u8) || c.Bytes(SendAttribute.XattrName).StartsWith("trusted."u8));

    private void RemoveXattr(SendCommand c)
    {
        if (Skipped(c))
            return;
        var name = Sys.Z(c.Bytes(SendAttribute.XattrName));
        fixed (byte* p = FullPathZ(c))
        fixed (byte* n = name)
        {
            if (Libc.lremovexattr(p, n) != 0 && Sys.Errno != Libc.ENODATA)
                throw PosixException.FromLastError("removexattr", FullPath(c));
        }
    }

    private void CloseFiles()
    {
        foreach (var fd in _open.Values)
            fd.Dispose();
        _open.Clear();
    }

    private static string Show(SendCommand c, SendAttribute a) => Paths.RelPath.Display(c.Bytes(a));
}
