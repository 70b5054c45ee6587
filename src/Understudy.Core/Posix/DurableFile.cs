using System.Text;

namespace Understudy.Core.Posix;

/// <summary>
/// Replaces a small file (a service's configuration: smb.conf and its includes, ganesha.conf) so that after a crash or
/// power loss it is either the old content or the new, never empty or torn, and it keeps the mode and owner the admin
/// gave it: a temp file in the same directory (rename is atomic only within a file system), written, given the old
/// file's mode and owner, fsync'd, renamed over the old name, then the directory fsync'd (the rename itself is
/// directory metadata, not durable until then). Without the fsyncs, ext4 and XFS may show a zero-length file after a
/// power loss (delayed allocation); without the mode and owner, a 0640 root:samba smb.conf came back 0644 root:root.
/// A symlink is followed: the file it names is replaced, the link stays.
/// </summary>
internal static unsafe class DurableFile
{
    public static void Replace(string path, string content) => Replace(path, Encoding.UTF8.GetBytes(content));

    public static void Replace(string path, ReadOnlySpan<byte> content)
    {
        var full = FinalPath(Path.GetFullPath(path));
        var dirPath = Path.GetDirectoryName(full)!;
        var name = Path.GetFileName(full);
        Directory.CreateDirectory(dirPath);
        using var dir = OpenDirectory(dirPath);
        var zname = Z(name);
        var ztemp = Z($".{name}.understudy-tmp");
        StatInfo? old = Sys.TryStatx(dir, zname, 0, out var buf) == 0 ? StatInfo.From(buf) : null;
        // A temp left by a crash in the middle is only ever ours: start afresh.
        _ = Sys.TryUnlinkAt(dir, ztemp, 0);
        WriteNew(dir, ztemp, content, old, full);
        int e = Sys.TryRenameAt(dir, ztemp, dir, zname);
        if (e != 0)
        {
            _ = Sys.TryUnlinkAt(dir, ztemp, 0);
            throw new PosixException(e, "rename", full);
        }
        if (Libc.fsync(dir) != 0)
            throw PosixException.FromLastError("fsync", dirPath);
    }

    /// <summary>
    /// Writes <paramref name="content"/> beside <paramref name="path"/> under a staged name (<c>.NAME.understudy-staged</c>,
    /// which nothing includes), with the current file's mode and owner, and fsyncs it; the file itself is not touched.
    /// <see cref="CommitStaged"/> later puts it in place with a rename and a directory fsync only: what a take-over
    /// stages while its source is suspect costs the decision no data write (issue 21).
    /// </summary>
    public static void Stage(string path, string content)
    {
        var full = FinalPath(Path.GetFullPath(path));
        var dirPath = Path.GetDirectoryName(full)!;
        var name = Path.GetFileName(full);
        Directory.CreateDirectory(dirPath);
        using var dir = OpenDirectory(dirPath);
        var zstaged = Z(StagedName(name));
        StatInfo? old = Sys.TryStatx(dir, Z(name), 0, out var buf) == 0 ? StatInfo.From(buf) : null;
        _ = Sys.TryUnlinkAt(dir, zstaged, 0);
        WriteNew(dir, zstaged, Encoding.UTF8.GetBytes(content), old, full);
    }

    /// <summary>
    /// Puts the staged copy of <paramref name="path"/> in place when it holds exactly <paramref name="content"/> (it was
    /// fsync'd when staged): a rename over the old name, then the directory fsync'd. False, with nothing changed, when
    /// none is staged or it holds something else (a stale stage is never used).
    /// </summary>
    public static bool CommitStaged(string path, string content)
    {
        var full = FinalPath(Path.GetFullPath(path));
        var dirPath = Path.GetDirectoryName(full)!;
        var name = Path.GetFileName(full);
        var staged = Path.Combine(dirPath, StagedName(name));
        if (!File.Exists(staged) || !File.ReadAllBytes(staged).AsSpan().SequenceEqual(Encoding.UTF8.GetBytes(content)))
            return false;
        using var dir = OpenDirectory(dirPath);
        int e = Sys.TryRenameAt(dir, Z(StagedName(name)), dir, Z(name));
        if (e != 0)
            throw new PosixException(e, "rename", full);
        if (Libc.fsync(dir) != 0)
            throw PosixException.FromLastError("fsync", dirPath);
        return true;
    }

    /// <summary>Removes a staged copy of <paramref name="path"/>, if any (the stage was not needed).</summary>
    public static void Unstage(string path)
    {
        var full = FinalPath(Path.GetFullPath(path));
        var staged = Path.Combine(Path.GetDirectoryName(full)!, StagedName(Path.GetFileName(full)));
        File.Delete(staged);
    }

    /// <summary>True while a staged copy of <paramref name="path"/> exists.</summary>
    public static bool IsStaged(string path)
    {
        var full = FinalPath(Path.GetFullPath(path));
        return File.Exists(Path.Combine(Path.GetDirectoryName(full)!, StagedName(Path.GetFileName(full))));
    }

    private static string StagedName(string name) => $".{name}.understudy-staged";

    /// <summary>Creates <paramref name="zname"/> (it must not exist) with the content, <paramref name="old"/>'s mode and owner, fsync'd.</summary>
    private static void WriteNew(SafeFd dir, byte[] zname, ReadOnlySpan<byte> content, StatInfo? old, string full)
    {
        const uint defaultMode = 0b110_110_110; // 0666, less the umask, as File.WriteAllText makes a new file
        using var fd = Sys.OpenAt(dir, zname, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_EXCL | Libc.O_CLOEXEC, old?.Mode ?? defaultMode, "create", full);
        try
        {
            Write(fd, content, full);
            if (old is { } o)
            {
                // Owner first: chown clears set-id bits, which the chmod after it then restores exactly.
                if (Libc.fchown(fd, o.Uid, o.Gid) != 0)
                    throw PosixException.FromLastError("chown", full);
                if (Libc.fchmod(fd, o.Mode) != 0)
                    throw PosixException.FromLastError("chmod", full);
            }
            if (Libc.fsync(fd) != 0)
                throw PosixException.FromLastError("fsync", full);
        }
        catch
        {
            _ = Sys.TryUnlinkAt(dir, zname, 0);
            throw;
        }
    }

    /// <summary>The file a symlink finally names; the path itself when it is no symlink or does not exist yet.</summary>
    private static string FinalPath(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget is null ? path : new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
        }
        catch (FileNotFoundException)
        {
            return path;
        }
    }

    private static void Write(SafeFd fd, ReadOnlySpan<byte> content, string display)
    {
        fixed (byte* p = content)
        {
            int done = 0;
            while (done < content.Length)
            {
                nint n = Libc.pwrite(fd, p + done, (nuint)(content.Length - done), done);
                if (n < 0)
                {
                    if (Sys.Errno == Libc.EINTR)
                        continue;
                    throw PosixException.FromLastError("write", display);
                }
                done += (int)n;
            }
        }
    }

    private static SafeFd OpenDirectory(string path)
    {
        fixed (byte* p = Z(path))
        {
            int fd = Libc.open(p, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
            return fd >= 0 ? new SafeFd(fd) : throw PosixException.FromLastError("open", path);
        }
    }

    private static byte[] Z(string s) => Sys.Z(Encoding.UTF8.GetBytes(s));
}
