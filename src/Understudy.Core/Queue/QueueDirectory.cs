using System.Text;
using Understudy.Core.Posix;

namespace Understudy.Core.Queue;

/// <summary>
/// The queue's directory, held open, and every write the queue makes in it: through the file-system seam
/// (<see cref="FileSystem.Current"/>, Posix/FileSystem.cs), so a test's fault-injecting file system fails them as a
/// failing disk would (EIO on a write, a failed fsync), with nothing else changed. Each call is the one system call
/// the .NET file API made for it before (pwrite at the offset, fsync; openat, renameat, unlinkat relative to the
/// directory, fsync of the directory), so the real path costs the same system calls; the append path (pwrite, fsync)
/// is the same call for call. Reads stay direct (<see cref="SegmentReader"/>, <see cref="AckFile.Read"/>), as below
/// the apply code. Failures throw <see cref="PosixException"/>: an <see cref="IOException"/> whose HResult is the errno.
/// </summary>
internal sealed unsafe class QueueDirectory : IDisposable
{
    /// <summary>0666 less the umask, as .NET made the queue's files.</summary>
    private const uint FileMode = 0b110_110_110;

    private readonly SafeFd _fd;

    private QueueDirectory(string path, SafeFd fd)
    {
        Path = path;
        _fd = fd;
    }

    public string Path { get; }

    /// <summary>Opens (and first creates, with its parents) the directory.</summary>
    public static QueueDirectory Open(string path)
    {
        Directory.CreateDirectory(path);
        fixed (byte* p = Z(path))
        {
            int fd = Libc.open(p, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
            return fd >= 0 ? new QueueDirectory(path, new SafeFd(fd)) : throw PosixException.FromLastError("open", path);
        }
    }

    /// <summary>
    /// Whether the directory takes a write now: <paramref name="bytes"/> written to a probe file, synced and removed,
    /// through the seam like the queue's own writes. Throws (an <see cref="IOException"/>) while it does not.
    /// </summary>
    public static void Probe(string path, int bytes)
    {
        using var dir = Open(path);
        const string name = "space-probe";
        try
        {
            using var fd = dir.Create(name);
            dir.Write(fd, new byte[bytes], 0, name);
            dir.Fsync(fd, name);
        }
        finally
        {
            try
            {
                dir.Delete(name);
            }
            catch (IOException)
            {
                // Removed by the next probe (it truncates it first).
            }
        }
    }

    /// <summary>Creates <paramref name="name"/> (or truncates it) for writing.</summary>
    public SafeFd Create(string name) =>
        Sys.OpenAt(_fd, Z(name), Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC | Libc.O_CLOEXEC, FileMode, "create", Display(name));

    /// <summary>Opens the existing <paramref name="name"/> for writing.</summary>
    public SafeFd OpenForWrite(string name) => Sys.OpenAt(_fd, Z(name), Libc.O_WRONLY | Libc.O_CLOEXEC, 0, "open", Display(name));

    /// <summary>All of <paramref name="data"/> at <paramref name="offset"/> (pwrite until done).</summary>
    public void Write(SafeFd fd, ReadOnlySpan<byte> data, long offset, string name)
    {
        fixed (byte* p = data)
        {
            int done = 0;
            while (done < data.Length)
            {
                nint n = FileSystem.Current.Pwrite(fd, p + done, (nuint)(data.Length - done), offset + done);
                if (n < 0)
                {
                    if (Sys.Errno == Libc.EINTR)
                        continue;
                    throw PosixException.FromLastError("write", Display(name));
                }
                done += (int)n;
            }
        }
    }

    public void Fsync(SafeFd fd, string name)
    {
        if (FileSystem.Current.Fsync(fd) != 0)
            throw PosixException.FromLastError("fsync", Display(name));
    }

    public void Truncate(SafeFd fd, long length, string name)
    {
        if (FileSystem.Current.Ftruncate(fd, length) != 0)
            throw PosixException.FromLastError("truncate", Display(name));
    }

    /// <summary>Replaces <paramref name="to"/> by <paramref name="from"/> (atomic; durable once <see cref="Sync"/> returns).</summary>
    public void Rename(string from, string to)
    {
        int e = Sys.TryRenameAt(_fd, Z(from), _fd, Z(to));
        if (e != 0)
            throw new PosixException(e, "rename", Display(from));
    }

    /// <summary>Removes <paramref name="name"/>; one that is not there is no error.</summary>
    public void Delete(string name)
    {
        int e = Sys.TryUnlinkAt(_fd, Z(name), 0);
        if (e is not (0 or Libc.ENOENT))
            throw new PosixException(e, "unlink", Display(name));
    }

    /// <summary>fsync of the directory: a create, rename or unlink in it survives a crash.</summary>
    public void Sync()
    {
        if (FileSystem.Current.Fsync(_fd) != 0)
            throw PosixException.FromLastError("fsync", Path);
    }

    public void Dispose() => _fd.Dispose();

    private string Display(string name) => System.IO.Path.Join(Path, name);

    private static byte[] Z(string s) => Sys.Z(Encoding.UTF8.GetBytes(s));
}
