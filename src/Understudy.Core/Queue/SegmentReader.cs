using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Understudy.Core.Queue;

internal enum ReadStatus
{
    Record,
    /// <summary>Exactly at the read limit.</summary>
    End,
    /// <summary>The limit falls inside a record: a torn write.</summary>
    Torn,
    /// <summary>Bad length, CRC or sequence.</summary>
    Corrupt,
}

/// <summary>
/// Reads records forward from one segment file through a buffer, up to a caller-given limit
/// (the durable length, so concurrent appends past it are never seen half-written).
/// The payload span is valid until the next call.
/// </summary>
internal sealed class SegmentReader : IDisposable
{
    private readonly SafeFileHandle _handle;
    private readonly int _maxPayload;
    private byte[] _buffer = new byte[256 * 1024];
    private long _bufferOffset; // file offset of _buffer[0]
    private int _count;         // valid bytes in _buffer

    public SegmentReader(string path, long offset, int maxPayload)
    {
        _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        _maxPayload = maxPayload;
        _bufferOffset = offset;
        Offset = offset;
    }

    /// <summary>File offset of the next record.</summary>
    public long Offset { get; private set; }

    public long Seq { get; private set; }

    public long TimestampUnixMs { get; private set; }

    public ReadOnlySpan<byte> Payload => _buffer.AsSpan(_payloadStart, _payloadLength);

    public int RecordLength => RecordFormat.HeaderLength + _payloadLength;

    private long _limit;
    private int _payloadStart;
    private int _payloadLength;

    /// <summary>Reads the 16-byte segment header; false when it is missing or wrong.</summary>
    public bool TryReadSegmentHeader(long expectedFirstSeq)
    {
        Span<byte> header = stackalloc byte[RecordFormat.SegmentHeaderLength];
        if (RandomAccess.Read(_handle, header, 0) != header.Length)
            return false;
        return header[..8].SequenceEqual(RecordFormat.SegmentMagic)
            && BinaryPrimitives.ReadInt64LittleEndian(header[8..]) == expectedFirstSeq;
    }

    public ReadStatus Next(long limit, long expectedSeq)
    {
        _limit = limit;
        long available = limit - Offset;
        if (available == 0)
            return ReadStatus.End;
        if (available < RecordFormat.HeaderLength || !Ensure(RecordFormat.HeaderLength))
            return ReadStatus.Torn;
        int start = (int)(Offset - _bufferOffset);
        var header = _buffer.AsSpan(start, RecordFormat.HeaderLength);
        int length = BinaryPrimitives.ReadInt32LittleEndian(header);
        if (length < 0 || length > _maxPayload)
            return ReadStatus.Corrupt;
        if (available < RecordFormat.HeaderLength + length || !Ensure(RecordFormat.HeaderLength + length))
            return ReadStatus.Torn;
        start = (int)(Offset - _bufferOffset);
        header = _buffer.AsSpan(start, RecordFormat.HeaderLength);
        var payload = _buffer.AsSpan(start + RecordFormat.HeaderLength, length);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header[4..]) != RecordFormat.Checksum(header, payload))
            return ReadStatus.Corrupt;
        long seq = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
        if (seq != expectedSeq)
            return ReadStatus.Corrupt;
        Seq = seq;
        TimestampUnixMs = BinaryPrimitives.ReadInt64LittleEndian(header[16..]);
        _payloadStart = start + RecordFormat.HeaderLength;
        _payloadLength = length;
        Offset += RecordFormat.HeaderLength + length;
        return ReadStatus.Record;
    }

    /// <summary>Makes <paramref name="needed"/> bytes from <see cref="Offset"/> available; false at end of file.</summary>
    private bool Ensure(int needed)
    {
        int start = (int)(Offset - _bufferOffset);
        if (_count - start >= needed)
            return true;
        if (needed > _buffer.Length)
            Array.Resize(ref _buffer, Math.Max(needed, _buffer.Length * 2));
        Buffer.BlockCopy(_buffer, start, _buffer, 0, _count - start);
        _count -= start;
        _bufferOffset = Offset;
        while (_count < needed)
        {
            // Never buffer past the limit: bytes beyond it may be a record still being written.
            int room = (int)Math.Min(_buffer.Length - _count, _limit - (_bufferOffset + _count));
            int n = room <= 0 ? 0 : RandomAccess.Read(_handle, _buffer.AsSpan(_count, room), _bufferOffset + _count);
            if (n <= 0)
                return false;
            _count += n;
        }
        return true;
    }

    public void Dispose() => _handle.Dispose();
}
