using System.Buffers;

namespace Understudy.Core.Delta;

/// <summary>What a generated delta cost: for progress, logs and the performance page.</summary>
internal readonly record struct DeltaStats(long NewLength, long LiteralBytes, long CopiedBlocks, long CopyInstructions);

/// <summary>
/// Computes the delta of a new file against a basis signature, streaming: memory is one buffer
/// of about a block plus <see cref="ReadChunk"/>, whatever the file size. The window rolls one
/// byte at a time over unmatched data and jumps a whole block after a match.
/// </summary>
internal static class DeltaGenerator
{
    private const int ReadChunk = 256 * 1024;

    public static DeltaStats Generate(FileSignature signature, Stream newFile, IDeltaSink sink, CancellationToken cancellationToken = default) =>
        Generate(signature, FileAccessors.Sequential(newFile), sink, cancellationToken);

    /// <summary>Reads the new file from offset 0 until <paramref name="readNew"/> returns 0.</summary>
    public static DeltaStats Generate(FileSignature signature, ReadAt readNew, IDeltaSink sink, CancellationToken cancellationToken = default) =>
        Generate(signature, readNew, [], sink, cancellationToken);

    /// <summary>
    /// The same for a sparse file: <paramref name="holes"/> (offset, length; in order, not overlapping) are ranges
    /// the new file has no data for (SEEK_HOLE). Each at least one block long is not read: it goes as a
    /// <see cref="IDeltaSink.Hole"/>, which the target leaves unwritten, so the copy keeps the hole instead of
    /// being filled with zeros (and the zeros do not cross the wire). Shorter ones are read as zeros like
    /// data, so a file with many small holes still matches the basis block by block. The rolling window
    /// restarts after a hole.
    /// </summary>
    public static DeltaStats Generate(FileSignature signature, ReadAt readNew, IReadOnlyList<(long Offset, long Length)> holes, IDeltaSink sink,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(holes);
        ArgumentNullException.ThrowIfNull(signature);
        ArgumentNullException.ThrowIfNull(readNew);
        ArgumentNullException.ThrowIfNull(sink);
        int blockSize = signature.BlockSize;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(blockSize + Math.Max(blockSize, ReadChunk));
        try
        {
            var big = holes.Where(h => h.Length >= blockSize).ToList();
            var run = new Run(signature, new BlockIndex(signature), readNew, big, sink, buffer);
            run.Execute(cancellationToken);
            return run.Stats;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The state of one generation; a struct-like class kept private so the loop reads plainly.</summary>
    private sealed class Run(FileSignature signature, BlockIndex index, ReadAt read, List<(long Offset, long Length)> holes, IDeltaSink sink, byte[] buffer)
    {
        private readonly int _blockSize = signature.BlockSize;
        private readonly DeltaSinkWriter _out = new(sink);
        private int _pos;        // window start in buffer
        private int _end;        // valid bytes in buffer
        private int _litStart;   // unmatched bytes are buffer[_litStart.._pos)
        private long _fileOffset;
        private bool _eof;        // end of the data read: of the file, or of a segment before a hole
        private bool _atHole;     // ... and it is a hole, not the end of the file
        private int _nextHole;

        public DeltaStats Stats => new(_fileOffset, _out.LiteralBytes, _out.CopiedBlocks, _out.CopyInstructions);

        public void Execute(CancellationToken cancellationToken)
        {
            while (true)
            {
                ExecuteSegment(cancellationToken);
                if (!_atHole)
                    break;
                // Everything before the hole goes out (no block can span it), then the hole, then the next segment.
                _pos = _end;
                FlushLiteral();
                var (offset, length) = holes[_nextHole++];
                if (offset + length > _fileOffset)
                {
                    _out.Hole(offset + length - _fileOffset);
                    _fileOffset = offset + length;
                }
                _pos = _end = _litStart = 0;
                _eof = _atHole = false;
            }
            FinishTail();
            _out.Complete();
        }

        /// <summary>Deltas the data from <see cref="_fileOffset"/> up to the next hole or the end of the file.</summary>
        private void ExecuteSegment(CancellationToken cancellationToken)
        {
            var weak = default(RollingChecksum);
            bool haveWeak = false;
            while (true)
            {
                // Rolling needs the byte after the window, so refill while it is missing.
                if (_end - _pos <= _blockSize && !_eof)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    Refill();
                    continue;
                }
                if (_end - _pos < _blockSize || index.IsEmpty)
                {
                    if (_eof)
                        break;
                    // Nothing but the basis's short tail block can match, and only at the end of the
                    // file: pass all but the last block-size bytes through.
                    _pos = _end - _blockSize;
                    Refill();
                    continue;
                }
                if (!haveWeak)
                {
                    weak = RollingChecksum.Compute(buffer.AsSpan(_pos, _blockSize));
                    haveWeak = true;
                }
                int match = index.MayContain(weak.Value)
                    ? index.Find(weak.Value, buffer.AsSpan(_pos, _blockSize), _out.NextExpectedBlock)
                    : -1;
                if (match >= 0)
                {
                    FlushLiteral();
                    _out.Copy(match);
                    _pos += _blockSize;
                    _litStart = _pos;
                    haveWeak = false;
                    continue;
                }
                // Roll through unmatched data in a tight loop until a candidate, the end of the
                // buffered data or a full literal chunk.
                int last = Math.Min(_end - _blockSize - 1, _litStart + DeltaInstruction.MaxLiteralLength - 1);
                var span = buffer.AsSpan(0, _end);
                int pos = index.Scan(ref weak, span, _pos, last, _blockSize);
                if (pos == _pos)
                {
                    // At the end of buffered data: advance one byte; at EOF the window then shrinks.
                    if (_pos + _blockSize < _end)
                    {
                        weak.Roll(span[_pos], span[_pos + _blockSize]);
                        _pos++;
                    }
                    else
                    {
                        _pos++;
                        haveWeak = false;
                    }
                }
                else
                {
                    _pos = pos;
                }
                if (_pos - _litStart >= DeltaInstruction.MaxLiteralLength)
                    FlushLiteral();
            }
        }

        /// <summary>
        /// The basis's short last block can only match the very end of the new file (as in rsync);
        /// everything before it, or everything left if it does not match, goes out as literal.
        /// </summary>
        private void FinishTail()
        {
            int tail = signature.TailLength;
            int available = _end - _litStart;
            if (tail > 0 && available >= tail)
            {
                var candidate = buffer.AsSpan(_end - tail, tail);
                int last = signature.BlockCount - 1;
                if (RollingChecksum.Of(candidate) == signature.Weak(last) && signature.StrongOf(candidate) == signature.Strong(last))
                {
                    _pos = _end - tail;
                    FlushLiteral();
                    _out.Copy(last);
                    return;
                }
            }
            _pos = _end;
            FlushLiteral();
        }

        private void FlushLiteral()
        {
            if (_pos > _litStart)
                _out.Literal(buffer.AsSpan(_litStart, _pos - _litStart));
            _litStart = _pos;
        }

        /// <summary>Moves the pending bytes (at most a block: literal is flushed first) to the front and reads more.</summary>
        private void Refill()
        {
            FlushLiteral();
            int keep = _end - _pos;
            buffer.AsSpan(_pos, keep).CopyTo(buffer);
            _pos = 0;
            _litStart = 0;
            _end = keep;
            while (_end < buffer.Length)
            {
                int want = buffer.Length - _end;
                if (_nextHole < holes.Count)
                {
                    long room = holes[_nextHole].Offset - _fileOffset;
                    if (room <= 0)
                    {
                        _eof = _atHole = true;
                        break;
                    }
                    want = (int)Math.Min(want, room);
                }
                int n = read(buffer.AsSpan(_end, want), _fileOffset);
                if (n <= 0)
                {
                    _eof = true;
                    _nextHole = holes.Count; // the file ended before its holes: it shrank since they were listed
                    break;
                }
                _end += n;
                _fileOffset += n;
            }
        }
    }
}
