namespace Understudy.Core.Posix;

/// <summary>A regular file open for reading. Reads are positional (pread), so one reader can
/// serve several block requests without a shared file offset.</summary>
internal sealed class FileReader : IDisposable
{
    private readonly SafeFd _fd;
    private readonly string _display;

    internal FileReader(SafeFd fd, StatInfo stat, string display)
    {
        _fd = fd;
        Stat = stat;
        _display = display;
    }

    /// <summary>fstat of the open fd, taken when it was opened.</summary>
    public StatInfo Stat { get; }

    /// <summary>Reads up to buffer.Length bytes at <paramref name="offset"/>; 0 at end of file.</summary>
    public unsafe int Read(Span<byte> buffer, long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        fixed (byte* p = buffer)
        {
            while (true)
            {
                nint n = Libc.pread(_fd, p, (nuint)buffer.Length, offset);
                if (n >= 0)
                    return (int)n;
                int e = Sys.Errno;
                if (e != Libc.EINTR)
                    throw new PosixException(e, "pread", _display);
            }
        }
    }

    /// <summary>Asks the kernel to start reading <paramref name="length"/> bytes at
    /// <paramref name="offset"/> into the page cache now (POSIX_FADV_WILLNEED), so a sequential reader
    /// of a file that is not cached keeps the disk busy instead of waiting for each read in turn.
    /// Only a hint: failure is ignored.</summary>
    public void Prefetch(long offset, long length) =>
        _ = Libc.posix_fadvise(_fd, offset, length, Libc.POSIX_FADV_WILLNEED);

    /// <summary>Drops the (clean) cached pages of the range from the page cache (POSIX_FADV_DONTNEED).
    /// Only a hint: failure is ignored.</summary>
    public void DropCache(long offset, long length) =>
        _ = Libc.posix_fadvise(_fd, offset, length, Libc.POSIX_FADV_DONTNEED);

    /// <summary>The open file's extended attributes (no second path lookup).</summary>
    public IReadOnlyList<Xattr> ReadXattrs() => Xattrs.Read(_fd, _display);

    /// <summary>The file's data ranges (SEEK_DATA/SEEK_HOLE), in order. A file system without
    /// hole reporting, or a file without holes, gives one extent; an empty file none.</summary>
    public IReadOnlyList<(long Offset, long Length)> DataExtents()
    {
        long size = Sys.Fstat(_fd, _display).Size;
        var extents = new List<(long, long)>();
        long pos = 0;
        while (pos < size)
        {
            long data = Libc.lseek(_fd, pos, Libc.SEEK_DATA);
            if (data < 0)
            {
                int e = Sys.Errno;
                if (e == Libc.ENXIO)
                    break; // only a hole up to the end
                if (e == Libc.EINVAL && pos == 0)
                    return [(0, size)]; // no SEEK_DATA support
                throw new PosixException(e, "lseek(SEEK_DATA)", _display);
            }
            if (data >= size)
                break;
            long hole = Libc.lseek(_fd, data, Libc.SEEK_HOLE);
            if (hole < 0)
                throw PosixException.FromLastError("lseek(SEEK_HOLE)", _display);
            hole = Math.Min(hole, size);
            extents.Add((data, hole - data));
            pos = hole;
        }
        return extents;
    }

    public void Dispose() => _fd.Dispose();
}
