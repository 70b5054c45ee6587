using System.Runtime.InteropServices;
using System.Text;
using Understudy.Core.Posix;

namespace Understudy.Agent.Replication.Capture;

/// <summary>
/// Resolves fanotify directory file handles to absolute paths: open_by_handle_at(O_PATH) then
/// readlink of /proc/self/fd/N, cached by handle bytes. Only the watcher thread uses it.
/// </summary>
/// <remarks>
/// A path is what the directory is called when the event is read, not when it happened; a
/// directory rename or delete anywhere clears the cache so no older name outlives it. Handles of
/// deleted directories no longer open (ESTALE), or open as "... (deleted)": those resolve only
/// from the cache, and otherwise not at all — the deletion of the directory itself, reported in a
/// parent that still exists, supersedes what happened inside it.
/// </remarks>
internal sealed unsafe class HandlePathCache
{
    private const int MaxEntries = 65536;
    private static readonly byte[] DeletedSuffix = " (deleted)"u8.ToArray();

    private readonly int _mountFd;
    private readonly Dictionary<byte[], byte[]> _cache = new(HandleComparer.Instance);
    private readonly Dictionary<byte[], byte[]>.AlternateLookup<ReadOnlySpan<byte>> _lookup;
    private readonly byte[] _linkBuffer = new byte[Interop_PathMax];

    private const int Interop_PathMax = 4096;

    public HandlePathCache(int mountFd)
    {
        _mountFd = mountFd;
        _lookup = _cache.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    public long Resolutions { get; private set; }

    /// <summary><paramref name="handle"/> is a struct file_handle (handle_bytes, handle_type, f_handle).</summary>
    public bool TryResolve(ReadOnlySpan<byte> handle, out byte[] absolutePath)
    {
        if (_lookup.TryGetValue(handle, out absolutePath!))
            return true;
        if (!TryOpenAndReadLink(handle, out absolutePath))
            return false;
        if (_cache.Count >= MaxEntries)
            _cache.Clear();
        _cache[handle.ToArray()] = absolutePath;
        return true;
    }

    public void Clear() => _cache.Clear();

    private bool TryOpenAndReadLink(ReadOnlySpan<byte> handle, out byte[] absolutePath)
    {
        absolutePath = [];
        Resolutions++;
        int fd;
        fixed (byte* h = handle)
            fd = Interop.Fanotify.OpenByHandleAt(_mountFd, h, Libc.O_PATH | Libc.O_CLOEXEC);
        if (fd < 0)
            return false;
        try
        {
            var link = Encoding.ASCII.GetBytes($"/proc/self/fd/{fd}\0");
            nint n;
            fixed (byte* l = link)
            fixed (byte* b = _linkBuffer)
                n = Libc.readlink(l, b, (nuint)_linkBuffer.Length);
            if (n <= 0 || n >= _linkBuffer.Length)
                return false;
            var path = _linkBuffer.AsSpan(0, (int)n);
            if (path[0] != (byte)'/' || path.EndsWith(DeletedSuffix))
                return false;
            absolutePath = path.ToArray();
            return true;
        }
        finally
        {
            Libc.close(fd);
        }
    }

    private sealed class HandleComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly HandleComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => GetHashCode(obj.AsSpan());

        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<byte> alternate)
        {
            var h = new HashCode();
            h.AddBytes(alternate);
            return h.ToHashCode();
        }

        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
    }
}
