using System.Text;

namespace Understudy.Core.Posix;

/// <summary>
/// Where a path really leads, every symlink component followed (what realpath(3) answers):
/// the kernel resolves the path once (open O_PATH) and /proc/self/fd names the directory it
/// reached. A guard that compares paths as text is blind to a symlink planted on the way
/// (a replica's "ln → the agent's data directory"); one that compares these is not.
/// </summary>
internal static unsafe class RealPaths
{
    /// <summary>The real path of <paramref name="absolute"/>, or null when it does not exist.</summary>
    public static string? Of(string absolute)
    {
        int fd;
        fixed (byte* p = Sys.Z(Encoding.UTF8.GetBytes(absolute)))
            fd = Libc.open(p, Libc.O_PATH | Libc.O_CLOEXEC, 0);
        if (fd < 0)
        {
            if (Sys.Errno is Libc.ENOENT or Libc.ENOTDIR)
                return null;
            throw PosixException.FromLastError("open", absolute);
        }
        using var sfd = new SafeFd(fd);
        return OfFd(sfd);
    }

    /// <summary>The real path of what <paramref name="fd"/> is open on.</summary>
    public static string OfFd(SafeFd fd) =>
        new FileInfo($"/proc/self/fd/{fd.Fd}").LinkTarget ?? throw new IOException($"cannot read the path of fd {fd.Fd}");

    /// <summary>The real path of the longest existing prefix of <paramref name="absolute"/>,
    /// followed by the components that do not exist yet (which cannot be symlinks).</summary>
    public static string Resolve(string absolute)
    {
        string existing = Path.GetFullPath(absolute);
        string rest = "";
        while (true)
        {
            if (Of(existing) is { } real)
                return rest.Length == 0 ? real : Path.Join(real, rest);
            var parent = Path.GetDirectoryName(existing);
            if (parent is null)
                return Path.GetFullPath(absolute);
            var name = Path.GetFileName(existing);
            rest = rest.Length == 0 ? name : name + "/" + rest;
            existing = parent;
        }
    }
}
