using Understudy.Core.Paths;

namespace Understudy.Core.Posix;

/// <summary>A file being written under a temporary name beside its final path. It holds its
/// parent directory's fd, so the commit rename lands in the directory it was created in even
/// if paths change meanwhile. Until <see cref="Commit"/>, disposing removes it.</summary>
internal sealed class TempFile : IDisposable
{
    private readonly SafeFd _parent;
    private readonly byte[] _ztemp;
    private readonly SafeFd _fd;
    private readonly string _display;
    private bool _committed;
    private bool _disposed;

    internal TempFile(SafeFd parent, byte[] ztemp, SafeFd fd, RelPath finalPath, string display)
    {
        _parent = parent;
        _ztemp = ztemp;
        _fd = fd;
        FinalPath = finalPath;
        _display = display;
    }

    public RelPath FinalPath { get; }

    /// <summary>Writes all of <paramref name="data"/> at <paramref name="offset"/> (pwrite until done).</summary>
    public unsafe void Write(ReadOnlySpan<byte> data, long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        fixed (byte* p = data)
        {
            int done = 0;
            while (done < data.Length)
            {
                nint n = Libc.pwrite(_fd, p + done, (nuint)(data.Length - done), offset + done);
                if (n < 0)
                {
                    int e = Sys.Errno;
                    if (e == Libc.EINTR)
                        continue;
                    throw new PosixException(e, "write", _display);
                }
                done += (int)n;
            }
        }
    }

    /// <summary>ftruncate: growing leaves a hole, so a sparse copy is SetLength then writing
    /// only the data extents.</summary>
    public void SetLength(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (Libc.ftruncate(_fd, length) != 0)
            throw PosixException.FromLastError("truncate", _display);
    }

    public void SetMetadata(uint mode, uint? uid, uint? gid, long mtimeNs, IReadOnlyList<Xattr>? xattrs) =>
        Metadata.ApplyToFd(_fd, mode, uid, gid, mtimeNs, xattrs, _display);

    /// <summary>Starts writeback of <paramref name="length"/> bytes at <paramref name="offset"/>
    /// (0: to the end) without waiting for it: sync_file_range(SYNC_FILE_RANGE_WRITE). Only a
    /// head start for the batch's syncfs, which is still what makes the file durable; so a file
    /// system that refuses it is not an error.</summary>
    public void StartWriteback(long offset, long length) =>
        _ = Libc.sync_file_range(_fd, offset, length, Libc.SYNC_FILE_RANGE_WRITE);

    public void Fsync()
    {
        if (Libc.fsync(_fd) != 0)
            throw PosixException.FromLastError("fsync", _display);
    }

    /// <summary>Renames the temp over the final name (replacing a file or symlink atomically;
    /// a directory there is removed first).</summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_committed)
            throw new InvalidOperationException("Already committed.");
        FsTree.CommitRename(_parent, _ztemp, Sys.Z(FinalPath.Name), _display);
        _committed = true;
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _fd.Dispose();
        if (!_committed)
            Sys.TryUnlinkAt(_parent, _ztemp, 0);
        _parent.Dispose();
    }
}
