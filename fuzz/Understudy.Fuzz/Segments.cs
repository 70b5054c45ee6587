using System.Buffers;

namespace Understudy.Fuzz;

/// <summary>Builds a multi-segment <see cref="ReadOnlySequence{T}"/>, as a pipe hands its reader.</summary>
internal sealed class Segments : ReadOnlySequenceSegment<byte>
{
    private Segments(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    public static ReadOnlySequence<byte> Of(byte[] data, int size)
    {
        if (data.Length <= size)
            return new ReadOnlySequence<byte>(data);
        var first = new Segments(data.AsMemory(0, size), 0);
        var last = first;
        for (int at = size; at < data.Length; at += size)
        {
            var next = new Segments(data.AsMemory(at, Math.Min(size, data.Length - at)), at);
            last.Next = next;
            last = next;
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }
}
