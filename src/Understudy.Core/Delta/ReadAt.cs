using Microsoft.Win32.SafeHandles;

namespace Understudy.Core.Delta;

/// <summary>pread-like: fills <paramref name="buffer"/> from <paramref name="offset"/>, returns the
/// count read (possibly short), 0 at end of file.</summary>
internal delegate int ReadAt(Span<byte> buffer, long offset);

/// <summary>pwrite-like: writes all of <paramref name="data"/> at <paramref name="offset"/>.</summary>
internal delegate void WriteAt(ReadOnlySpan<byte> data, long offset);

internal static class FileAccessors
{
    public static ReadAt Reader(SafeFileHandle handle) => (buffer, offset) => RandomAccess.Read(handle, buffer, offset);

    public static WriteAt Writer(SafeFileHandle handle) => (data, offset) => RandomAccess.Write(handle, data, offset);

    /// <summary>Adapts a sequential stream; the delta code only ever reads forward.</summary>
    public static ReadAt Sequential(Stream stream)
    {
        long position = 0;
        return (buffer, offset) =>
        {
            if (offset != position)
                throw new InvalidOperationException("Stream reader used out of order.");
            int n = stream.Read(buffer);
            position += n;
            return n;
        };
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or end of file; returns the count read.</summary>
    public static int ReadFull(ReadAt read, Span<byte> buffer, long offset)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = read(buffer[total..], offset + total);
            if (n <= 0)
                break;
            total += n;
        }
        return total;
    }
}
