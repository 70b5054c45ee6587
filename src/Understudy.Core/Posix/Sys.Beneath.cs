namespace Understudy.Core.Posix;

internal static unsafe partial class Sys
{
    private const ulong GuardResolve = Libc.RESOLVE_BENEATH | Libc.RESOLVE_NO_SYMLINKS | Libc.RESOLVE_NO_MAGICLINKS;

    // Set once openat2 answers ENOSYS (kernel before 5.6, or a seccomp filter that hides it).
    private static volatile bool s_noOpenat2;

    /// <summary>Opens a directory path below <paramref name="dir"/> without ever following a
    /// symlink or leaving <paramref name="dir"/>: openat2 with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|
    /// RESOLVE_NO_MAGICLINKS. A symlink on the way fails with ELOOP, an escape with EXDEV.
    /// <paramref name="flags"/> must include O_DIRECTORY.</summary>
    public static int TryOpenBeneath(SafeFd dir, byte[] zpath, int flags, out SafeFd fd)
    {
        if (s_noOpenat2)
            return TryOpenComponentwise(dir, zpath, flags, out fd);
        var how = new OpenHow { Flags = (ulong)(uint)flags, Resolve = GuardResolve };
        fixed (byte* p = zpath)
        {
            // EAGAIN means a concurrent rename raced a ".." check; bounded so a hostile
            // renamer cannot spin us forever.
            for (int attempt = 0; ; attempt++)
            {
                long r = Libc.syscall_openat2(Libc.SYS_openat2, dir, p, &how, (nuint)sizeof(OpenHow));
                if (r >= 0)
                {
                    fd = new SafeFd((int)r);
                    return 0;
                }
                int e = Errno;
                if (e == Libc.EINTR || (e == Libc.EAGAIN && attempt < 64))
                    continue;
                if (e == Libc.ENOSYS)
                {
                    s_noOpenat2 = true;
                    return TryOpenComponentwise(dir, zpath, flags, out fd);
                }
                fd = new SafeFd();
                return e;
            }
        }
    }

    /// <summary>The same guarantee without openat2: one openat(O_NOFOLLOW|O_DIRECTORY) per
    /// component. Safe because a RelPath never holds "..", "." or a leading '/', so the only
    /// way out would be a symlink, and O_NOFOLLOW refuses those (reported as ELOOP, as openat2
    /// would).</summary>
    internal static int TryOpenComponentwise(SafeFd dir, byte[] zpath, int flags, out SafeFd fd)
    {
        var path = zpath.AsSpan(0, zpath.Length - 1);
        int stepFlags = Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC;
        SafeFd? cur = null;
        while (true)
        {
            int slash = path.IndexOf((byte)'/');
            var name = Z(slash < 0 ? path : path[..slash]);
            bool last = slash < 0;
            int e = TryOpenAt(cur ?? dir, name, last ? flags | Libc.O_NOFOLLOW : stepFlags, 0, out var next);
            if (e == Libc.ENOTDIR && TryStatx(cur ?? dir, name, Libc.AT_SYMLINK_NOFOLLOW, out var st) == 0
                && (st.Mode & Libc.S_IFMT) == Libc.S_IFLNK)
                e = Libc.ELOOP;
            cur?.Dispose();
            if (e != 0)
            {
                next.Dispose();
                fd = new SafeFd();
                return e;
            }
            if (last)
            {
                fd = next;
                return 0;
            }
            cur = next;
            path = path[(slash + 1)..];
        }
    }
}
