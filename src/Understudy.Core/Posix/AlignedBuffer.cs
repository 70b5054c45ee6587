using System.Runtime.InteropServices;

namespace Understudy.Core.Posix;

/// <summary>Native memory aligned for O_DIRECT (start, and so every 4 KiB step within it), reused
/// across files by one writer. Not thread-safe; free with <see cref="Dispose"/>.</summary>
internal sealed unsafe class AlignedBuffer : IDisposable
{
    /// <summary>The alignment O_DIRECT needs of memory, file offsets and lengths: the logical
    /// block size, 512 or 4,096 bytes on the devices Linux knows; 4,096 serves both.</summary>
    public const int Alignment = 4096;

    private byte* _pointer;

    public AlignedBuffer(int length)
    {
        if (length <= 0 || length % Alignment != 0)
            throw new ArgumentOutOfRangeException(nameof(length), "a positive multiple of the alignment");
        _pointer = (byte*)NativeMemory.AlignedAlloc((nuint)length, Alignment);
        Length = length;
    }

    public int Length { get; }

    public byte* Pointer => _pointer != null ? _pointer : throw new ObjectDisposedException(nameof(AlignedBuffer));

    public Span<byte> Span => new(Pointer, Length);

    public void Dispose()
    {
        if (_pointer == null)
            return;
        NativeMemory.AlignedFree(_pointer);
        _pointer = null;
    }
}
