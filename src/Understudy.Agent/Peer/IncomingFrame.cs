using System.Buffers;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Peer;

/// <summary>A received message and the pooled buffer its data borrows. Dispose after handling.</summary>
internal sealed class IncomingFrame(Message message, PooledBuffer buffer) : IDisposable
{
    public Message Message { get; } = message;

    public void Dispose() => buffer.Dispose();
}

/// <summary>A received frame's body: rented from the shared pool, or (<see cref="AlignedAfter"/>) from a
/// small pool of pinned buffers in which the body's data starts on a 4 KiB boundary.</summary>
internal sealed class PooledBuffer : IDisposable
{
    private byte[]? _array;
    private readonly int _offset;
    private readonly int _length;
    private readonly bool _aligned;

    public PooledBuffer(int length)
    {
        _array = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        _length = length;
    }

    private PooledBuffer(byte[] array, int offset, int length)
    {
        (_array, _offset, _length, _aligned) = (array, offset, length, true);
    }

    private const int Alignment = Core.Posix.AlignedBuffer.Alignment;

    /// <summary>Pinned buffers big enough for any FileData body with room to align it; a few are kept
    /// (frames in flight: the pump's read-ahead and the one being applied), more are left to the GC.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentBag<byte[]> s_aligned = [];
    private const int AlignedKept = 8;
    private const int AlignedSize = Frame.DataChunk + 64 * 1024 + Alignment;

    /// <summary>A buffer of <paramref name="length"/> bytes whose byte at <paramref name="header"/> is
    /// 4 KiB-aligned in memory (bodies larger than the pinned buffers get a plain one).</summary>
    public static PooledBuffer AlignedAfter(int header, int length)
    {
        if (length > AlignedSize - Alignment)
            return new PooledBuffer(length);
        if (!s_aligned.TryTake(out var array))
            array = GC.AllocateUninitializedArray<byte>(AlignedSize, pinned: true);
        int offset = Alignment - (int)((AddressOf(array) + (nuint)header) % Alignment);
        return new PooledBuffer(array, offset % Alignment, length);
    }

    private static unsafe nuint AddressOf(byte[] pinned)
    {
        fixed (byte* p = pinned)
            return (nuint)p;
    }

    private byte[] Live => _array ?? throw new ObjectDisposedException(nameof(PooledBuffer));

    public Span<byte> Span => Live.AsSpan(_offset, _length);

    public ReadOnlyMemory<byte> Memory => Live.AsMemory(_offset, _length);

    public void Dispose()
    {
        var a = Interlocked.Exchange(ref _array, null);
        if (a is null)
            return;
        if (!_aligned)
            ArrayPool<byte>.Shared.Return(a);
        else if (s_aligned.Count < AlignedKept)
            s_aligned.Add(a);
    }
}
