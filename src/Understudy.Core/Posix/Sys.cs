using System.Buffers;
using System.Runtime.InteropServices;

namespace Understudy.Core.Posix;

/// <summary>Thin, span-friendly wrappers over <see cref="Libc"/>: NUL-termination, errno
/// capture and retry on EINTR. "Try" methods return an errno (0 = success) for callers that
/// treat some errors as results; the others throw <see cref="PosixException"/>.</summary>
internal static unsafe partial class Sys
{
    /// <summary>A NUL-terminated copy of a name or path.</summary>
    public static byte[] Z(ReadOnlySpan<byte> s)
    {
        var z = new byte[s.Length + 1];
        s.CopyTo(z);
        return z;
    }

    public static int Errno => Marshal.GetLastPInvokeError();

    /// <summary>How many bytes wait to be read on <paramref name="fd"/> (FIONREAD: an inotify or fanotify descriptor); an errno, 0 on success.</summary>
    public static int TryBytesReadable(int fd, out int bytes)
    {
        int n = 0;
        int r = Libc.ioctl(fd, Libc.FIONREAD, &n);
        bytes = n;
        return r == 0 ? 0 : Errno;
    }

    /// <summary>The C library's text for <paramref name="errno"/> (strerror).</summary>
    public static string ErrorText(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    public static int TryStatx(SafeFd dir, byte[] zpath, int flags, out StatxBuf buf)
    {
        fixed (byte* p = zpath)
        fixed (StatxBuf* b = &buf)
        {
            return Libc.statx(dir, p, flags, Libc.STATX_BASIC_STATS, b) == 0 ? 0 : Errno;
        }
    }

    /// <summary>Which mount <paramref name="fd"/> is on: statx's mount ID (Linux 5.8), else its device, which tells
    /// file systems apart but not two bind mounts of one.</summary>
    public static ulong MountId(SafeFd fd, string display)
    {
        StatxBuf buf;
        int r;
        fixed (byte* p = s_empty)
            r = Libc.statx(fd, p, Libc.AT_EMPTY_PATH, Libc.STATX_MNT_ID, &buf);
        if (r != 0)
            throw new PosixException(Errno, "fstat", display);
        return (buf.Mask & Libc.STATX_MNT_ID) != 0 ? buf.MntId : ((ulong)buf.DevMajor << 32) | buf.DevMinor;
    }

    private static readonly byte[] s_empty = [0];

    public static StatInfo Fstat(SafeFd fd, string display)
    {
        int e = TryStatx(fd, [0], Libc.AT_EMPTY_PATH, out var buf);
        if (e != 0)
            throw new PosixException(e, "fstat", display);
        return StatInfo.From(buf);
    }

    public static int TryOpenAt(SafeFd dir, byte[] zpath, int flags, uint mode, out SafeFd fd)
    {
        fixed (byte* p = zpath)
        {
            while (true)
            {
                int r = FileSystem.Current.OpenAt(dir, p, flags, mode);
                if (r >= 0)
                {
                    fd = new SafeFd(r);
                    return 0;
                }
                int e = Errno;
                if (e == Libc.EINTR)
                    continue;
                fd = new SafeFd();
                return e;
            }
        }
    }

    public static SafeFd OpenAt(SafeFd dir, byte[] zpath, int flags, uint mode, string op, string display)
    {
        int e = TryOpenAt(dir, zpath, flags, mode, out var fd);
        return e == 0 ? fd : throw new PosixException(e, op, display);
    }

    public static int TryUnlinkAt(SafeFd dir, byte[] zname, int flags)
    {
        fixed (byte* p = zname)
            return FileSystem.Current.UnlinkAt(dir, p, flags) == 0 ? 0 : Errno;
    }

    public static int TryMkdirAt(SafeFd dir, byte[] zname, uint mode)
    {
        fixed (byte* p = zname)
            return FileSystem.Current.MkdirAt(dir, p, mode) == 0 ? 0 : Errno;
    }

    public static int TryRenameAt(SafeFd fromDir, byte[] zfrom, SafeFd toDir, byte[] zto)
    {
        fixed (byte* a = zfrom)
        fixed (byte* b = zto)
            return FileSystem.Current.RenameAt(fromDir, a, toDir, b) == 0 ? 0 : Errno;
    }

    public static int TrySymlinkAt(byte[] ztarget, SafeFd dir, byte[] zname)
    {
        fixed (byte* t = ztarget)
        fixed (byte* n = zname)
            return FileSystem.Current.SymlinkAt(t, dir, n) == 0 ? 0 : Errno;
    }

    /// <summary>Gives the open file <paramref name="fd"/> (an O_TMPFILE one) the name <paramref name="zto"/>:
    /// linkat of the fd itself (AT_EMPTY_PATH), which needs CAP_DAC_READ_SEARCH (an agent running as root
    /// has it), else of its /proc/self/fd entry, followed, which needs none but costs a walk through
    /// /proc for every file.</summary>
    public static int TryLinkFd(SafeFd fd, SafeFd toDir, byte[] zto)
    {
        if (s_linkEmptyPath)
        {
            fixed (byte* b = zto)
            {
                byte empty = 0;
                if (FileSystem.Current.LinkAt(fd, &empty, toDir, b, Libc.AT_EMPTY_PATH) == 0)
                    return 0;
            }
            int e = Errno;
            if (e != Libc.ENOENT)
                return e; // without the capability the kernel says ENOENT: see whether /proc does better
        }
        var zproc = System.Text.Encoding.ASCII.GetBytes($"/proc/self/fd/{fd.DangerousGetHandle()}\0");
        fixed (byte* a = zproc)
        fixed (byte* b = zto)
        {
            if (FileSystem.Current.LinkAt(toDir, a, toDir, b, Libc.AT_SYMLINK_FOLLOW) != 0)
                return Errno;
        }
        s_linkEmptyPath = false; // /proc linked what AT_EMPTY_PATH would not: no capability, use /proc from now on
        return 0;
    }

    private static volatile bool s_linkEmptyPath = true;

    /// <summary>Whether <see cref="TryLinkFd"/> tries AT_EMPTY_PATH first (tests set it to exercise /proc).</summary>
    internal static bool LinkByEmptyPath
    {
        get => s_linkEmptyPath;
        set => s_linkEmptyPath = value;
    }

    public static int TryLinkAt(SafeFd fromDir, byte[] zfrom, SafeFd toDir, byte[] zto)
    {
        fixed (byte* a = zfrom)
        fixed (byte* b = zto)
            return FileSystem.Current.LinkAt(fromDir, a, toDir, b, 0) == 0 ? 0 : Errno;
    }

    public static byte[] ReadLinkAt(SafeFd dir, byte[] zname, string display)
    {
        int size = 256;
        while (true)
        {
            var buf = new byte[size];
            nint n;
            fixed (byte* p = zname)
            fixed (byte* b = buf)
                n = Libc.readlinkat(dir, p, b, (nuint)size);
            if (n < 0)
                throw new PosixException(Errno, "readlink", display);
            if (n < size)
                return buf.AsSpan(0, (int)n).ToArray();
            size *= 4; // truncated: readlinkat fills the buffer exactly when the target is longer
        }
    }

    /// <summary>All names in a directory (not "." or ".."), each NUL-terminated, with its d_type.</summary>
    public static List<(byte[] ZName, byte Type)> ReadDir(SafeFd dir, string display)
    {
        // Rented and returned on this thread with no await between (the pool's per-thread slot): a new
        // 32 KiB buffer per directory was 3 GB of garbage in a walk of 100,000 directories, and the
        // gen0 collections it forced sized the GC's budgets up (peak RSS).
        var buf = ArrayPool<byte>.Shared.Rent(32 * 1024);
        try
        {
            return ReadDir(dir, display, buf);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }

    private static List<(byte[] ZName, byte Type)> ReadDir(SafeFd dir, string display, byte[] buf)
    {
        var names = new List<(byte[], byte)>();
        fixed (byte* b = buf)
        {
            while (true)
            {
                nint n = FileSystem.Current.Getdents64(dir, b, (nuint)buf.Length);
                if (n < 0)
                {
                    int e = Errno;
                    if (e == Libc.EINTR)
                        continue;
                    throw new PosixException(e, "getdents64", display);
                }
                if (n == 0)
                    return names;
                // struct linux_dirent64 { u64 d_ino; i64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
                for (int off = 0; off < n;)
                {
                    ushort reclen = *(ushort*)(b + off + 16);
                    byte type = b[off + 18];
                    var name = new ReadOnlySpan<byte>(b + off + 19, reclen - 19);
                    name = name[..name.IndexOf((byte)0)];
                    off += reclen;
                    if (name.SequenceEqual("."u8) || name.SequenceEqual(".."u8))
                        continue;
                    names.Add((Z(name), type));
                }
            }
        }
    }

    /// <summary>Removes <paramref name="zname"/> in <paramref name="parent"/>, whatever it is;
    /// a directory is emptied first, depth first. Symlinks are unlinked, never followed: each
    /// directory is opened with O_NOFOLLOW relative to its already-open parent.
    /// Returns false when the entry was already gone.</summary>
    public static bool RemoveEntry(SafeFd parent, byte[] zname, string display)
    {
        int e = TryUnlinkAt(parent, zname, 0);
        if (e == 0)
            return true;
        if (e == Libc.ENOENT)
            return false;
        if (e != Libc.EISDIR)
            throw new PosixException(e, "unlink", display);
        using (var dir = OpenAt(parent, zname, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0, "open", display))
        {
            foreach (var (child, _) in ReadDir(dir, display))
                RemoveEntry(dir, child, display + "/" + Paths.RelPath.Display(child.AsSpan(0, child.Length - 1)));
        }
        e = TryUnlinkAt(parent, zname, Libc.AT_REMOVEDIR);
        if (e != 0 && e != Libc.ENOENT)
            throw new PosixException(e, "rmdir", display);
        return true;
    }
}
