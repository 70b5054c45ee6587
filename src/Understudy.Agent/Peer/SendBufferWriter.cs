using System.Buffers;

namespace Understudy.Agent.Peer;

/// <summary>A fixed span of the send pipe, written by one message. Past its end, writes go to a
/// scratch buffer and <see cref="Overflowed"/> is set, so the frame can be staged instead; the
/// pipe's memory is only committed (Advance) by the caller.</summary>
internal sealed class SendBufferWriter : IBufferWriter<byte>
{
    private Memory<byte> _target;
    private byte[] _scratch = [];

    public int Written { get; private set; }

    public bool Overflowed { get; private set; }

    public void Reset(Memory<byte> target)
    {
        _target = target;
        Written = 0;
        Overflowed = false;
    }

    public void Advance(int count)
    {
        if (!Overflowed)
            Written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        int want = Math.Max(sizeHint, 1);
        if (!Overflowed && _target.Length - Written >= want)
            return _target[Written..];
        Overflowed = true;
        if (_scratch.Length < want)
            _scratch = new byte[Math.Max(want, 4096)];
        return _scratch;
    }

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
}
