using Understudy.Core.Paths;

namespace Understudy.Core.Posix;

/// <summary>A file being written under a temporary name in its tree's work directory (or with no name
/// at all, O_TMPFILE), destined for its final path. It holds its final parent directory's fd, so the
/// commit lands in the directory it was meant for even if paths change meanwhile. Until
/// <see cref="Commit"/>, disposing removes it. It must not outlive its <see cref="FsTree"/>, which
/// owns the work directory's fd.</summary>
internal sealed class TempFile : IDisposable
{
    private readonly FsTree _tree;
    private readonly SafeFd _parent;
    private readonly SafeFd _tempDir; // where _ztemp is: the tree's work directory, or _parent (not owned)
    private readonly byte[]? _ztemp; // null: unnamed (O_TMPFILE) until committed
    private readonly SafeFd _fd;
    private readonly string _display;
    private bool _committed;
    private bool _disposed;

    internal TempFile(FsTree tree, SafeFd parent, SafeFd tempDir, byte[]? ztemp, SafeFd fd, RelPath finalPath, string display)
    {
        _tree = tree;
        _parent = parent;
        _tempDir = tempDir;
        _ztemp = ztemp;
        _fd = fd;
        FinalPath = finalPath;
        _display = display;
    }

    public RelPath FinalPath { get; }

    /// <summary>Writes all of <paramref name="data"/> at <paramref name="offset"/> (pwrite until done),
    /// through the direct-I/O buffer when <see cref="TryUseDirectIo"/> switched it on.</summary>
    public void Write(ReadOnlySpan<byte> data, long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (_direct is not null)
            WriteDirect(data, offset);
        else
            WriteBuffered(data, offset);
    }

    private unsafe void WriteBuffered(ReadOnlySpan<byte> data, long offset)
    {
        fixed (byte* p = data)
        {
            int done = 0;
            while (done < data.Length)
            {
                nint n = FileSystem.Current.Pwrite(_fd, p + done, (nuint)(data.Length - done), offset + done);
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

    // Direct I/O: contiguous data is gathered in an aligned buffer and written with O_DIRECT in
    // whole buffers, so it goes from this buffer to the device without a page-cache copy (and
    // without growing the page cache by the size of the mirror). Anything that does not fit the
    // alignment rules (a run that starts or, before the end of the file, stops off a 4 KiB
    // boundary; a file system that refuses O_DIRECT) falls back to buffered writes for the rest
    // of the file; content is the same either way.
    private AlignedBuffer? _direct;
    private long _directStart; // file offset of the buffer's first byte, aligned
    private int _directFill;
    private long _directSize;

    /// <summary>Writes this file's data with O_DIRECT from here on, gathered in
    /// <paramref name="buffer"/> (which must stay alive until <see cref="CompleteWrites"/> or
    /// disposal). <paramref name="size"/> is the file's final size: a last block that ends there
    /// is padded to the alignment, written, and cut back by ftruncate. Returns false, and leaves
    /// the file buffered, where the file system refuses the flag.</summary>
    public bool TryUseDirectIo(AlignedBuffer buffer, long size)
    {
        int flags = Libc.fcntl(_fd, Libc.F_GETFL, 0);
        if (flags < 0 || Libc.fcntl(_fd, Libc.F_SETFL, flags | Libc.O_DIRECT) != 0)
            return false;
        _direct = buffer;
        _directFill = 0;
        _directSize = size;
        return true;
    }

    /// <summary>True while writes go through O_DIRECT.</summary>
    public bool DirectIo => _direct is not null;

    private unsafe void WriteDirect(ReadOnlySpan<byte> data, long offset)
    {
        if (_directFill == 0 && !data.IsEmpty && data.Length % AlignedBuffer.Alignment == 0 && offset % AlignedBuffer.Alignment == 0)
        {
            fixed (byte* p = data)
            {
                // Data that is itself aligned in memory (a received frame, see PeerConnection) goes to the
                // device from where it is, without the copy into the buffer; whatever the kernel did not
                // take that way goes the usual way below.
                if ((nuint)p % AlignedBuffer.Alignment == 0)
                {
                    int written = PwriteDirect(p, data.Length, offset);
                    data = data[written..];
                    offset += written;
                    if (data.IsEmpty)
                        return;
                }
            }
        }
        if (_directFill > 0 && offset != _directStart + _directFill)
            FlushDirect(atEnd: false);
        if (_direct is not null && _directFill == 0)
        {
            if (offset % AlignedBuffer.Alignment != 0)
                LeaveDirect();
            else
                _directStart = offset;
        }
        if (_direct is not { } buf)
        {
            WriteBuffered(data, offset);
            return;
        }
        while (!data.IsEmpty)
        {
            int n = Math.Min(data.Length, buf.Length - _directFill);
            data[..n].CopyTo(buf.Span[_directFill..]);
            _directFill += n;
            data = data[n..];
            if (_directFill == buf.Length)
                FlushDirect(atEnd: false);
            if (_direct is null && !data.IsEmpty)
            {
                WriteBuffered(data, _directStart + _directFill);
                return;
            }
        }
    }

    /// <summary>Writes what the direct buffer holds. Whole blocks go out with O_DIRECT; a partial
    /// last block is padded with zeros when it ends at the file's size (ftruncate then cuts the
    /// file back), otherwise written buffered.</summary>
    private unsafe void FlushDirect(bool atEnd)
    {
        var buf = _direct!;
        int aligned = _directFill & ~(AlignedBuffer.Alignment - 1);
        int tail = _directFill - aligned;
        long tailAt = _directStart + aligned;
        bool pad = tail > 0 && atEnd && tailAt + tail == _directSize;
        int length = pad ? aligned + AlignedBuffer.Alignment : aligned;
        if (pad)
            buf.Span[_directFill..length].Clear();
        int written = PwriteDirect(buf.Pointer, length, _directStart);
        if (written > _directFill)
        {
            // Padding went past the end of the file: cut it back to its size.
            if (FileSystem.Current.Ftruncate(_fd, _directSize) != 0)
                throw PosixException.FromLastError("truncate", _display);
            written = _directFill;
        }
        if (written < _directFill)
        {
            // The rest (a partial block, a short or refused direct write) goes through the page cache.
            LeaveDirect();
            WriteBuffered(buf.Span[written.._directFill], _directStart + written);
        }
        _directStart += _directFill;
        _directFill = 0;
    }

    /// <summary>pwrite with O_DIRECT until done, in aligned steps; returns the bytes written, less than
    /// <paramref name="length"/> when the kernel wrote a part that leaves the rest unaligned or refused
    /// direct I/O for this file (EINVAL).</summary>
    private unsafe int PwriteDirect(byte* p, int length, long offset)
    {
        int done = 0;
        while (done < length)
        {
            nint n = FileSystem.Current.Pwrite(_fd, p + done, (nuint)(length - done), offset + done);
            if (n < 0)
            {
                int e = Sys.Errno;
                if (e == Libc.EINTR)
                    continue;
                if (e == Libc.EINVAL)
                    return done;
                throw new PosixException(e, "write", _display);
            }
            done += (int)n;
            if (n % AlignedBuffer.Alignment != 0)
                return done;
        }
        return done;
    }

    private void LeaveDirect()
    {
        _direct = null;
        int flags = Libc.fcntl(_fd, Libc.F_GETFL, 0);
        if (flags < 0 || Libc.fcntl(_fd, Libc.F_SETFL, flags & ~Libc.O_DIRECT) != 0)
            throw PosixException.FromLastError("fcntl", _display);
    }

    /// <summary>Writes out what direct I/O still holds; call once all data is written, before the
    /// metadata and the commit. The buffer is free for another file afterwards.</summary>
    public void CompleteWrites()
    {
        if (_direct is null)
            return;
        if (_directFill > 0)
            FlushDirect(atEnd: true);
        if (_direct is not null)
            LeaveDirect();
    }

    /// <summary>ftruncate: growing leaves a hole, so a sparse copy is SetLength then writing
    /// only the data extents.</summary>
    public void SetLength(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (FileSystem.Current.Ftruncate(_fd, length) != 0)
            throw PosixException.FromLastError("truncate", _display);
    }

    /// <summary>Owner, xattrs, mode and mtime; an fstat first lets it skip a chown or chmod that
    /// changes nothing (see <see cref="FsTree.CreateTemp"/>'s mode).</summary>
    public void SetMetadata(uint mode, uint? uid, uint? gid, long mtimeNs, IReadOnlyList<Xattr>? xattrs) =>
        Metadata.ApplyToFd(_fd, mode, uid, gid, mtimeNs, xattrs, _display, Sys.Fstat(_fd, _display));

    /// <summary>Starts writeback of <paramref name="length"/> bytes at <paramref name="offset"/>
    /// (0: to the end) without waiting for it: sync_file_range(SYNC_FILE_RANGE_WRITE). Only a
    /// head start for the batch's syncfs, which is still what makes the file durable; so a file
    /// system that refuses it is not an error.</summary>
    public void StartWriteback(long offset, long length) =>
        _ = Libc.sync_file_range(_fd, offset, length, Libc.SYNC_FILE_RANGE_WRITE);

    public void Fsync()
    {
        if (FileSystem.Current.Fsync(_fd) != 0)
            throw PosixException.FromLastError("fsync", _display);
    }

    /// <summary>Renames the temp over the final name, or links an unnamed one there (replacing a
    /// file or symlink atomically; a directory there is removed first).</summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_committed)
            throw new InvalidOperationException("Already committed.");
        if (_ztemp is null)
            _tree.CommitLink(_parent, _fd, Sys.Z(FinalPath.Name), _display);
        else
            FsTree.CommitRename(_tempDir, _ztemp, _parent, Sys.Z(FinalPath.Name), _display);
        _committed = true;
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _fd.Dispose();
        if (!_committed && _ztemp is not null)
            Sys.TryUnlinkAt(_tempDir, _ztemp, 0);
        _parent.Dispose();
    }
}
