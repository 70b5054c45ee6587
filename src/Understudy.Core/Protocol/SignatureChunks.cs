using Understudy.Core.Paths;

namespace Understudy.Core.Protocol;

/// <summary>
/// Splits a serialized signature into <see cref="SignatureReply"/> frames and puts it back
/// together. A signature is 20 bytes per block, so a file of a few tens of GiB already needs
/// more than one frame (<see cref="Frame.MaxBody"/>); chunks stay at <see cref="Frame.DataChunk"/>
/// so no frame is ever near the limit.
/// </summary>
internal static class SignatureChunks
{
    /// <summary>Largest signature a source accepts: bounds the memory a misbehaving target can make it use.</summary>
    public const long MaxTotal = 1L << 30;

    /// <summary>The replies that carry <paramref name="signature"/>; always at least one (an empty signature is one empty reply).</summary>
    public static IEnumerable<SignatureReply> Split(RelPath path, ReadOnlyMemory<byte> signature, int chunk = Frame.DataChunk)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunk, 1);
        int offset = 0;
        do
        {
            int n = Math.Min(chunk, signature.Length - offset);
            bool more = offset + n < signature.Length;
            yield return new SignatureReply(path, signature.Slice(offset, n), more);
            offset += n;
        }
        while (offset < signature.Length);
    }

    /// <summary>Collects the pieces of one signature, checking that they all name the requested path.</summary>
    internal sealed class Assembler(RelPath path)
    {
        private readonly List<ReadOnlyMemory<byte>> _parts = [];
        private long _length;

        /// <summary>Adds a piece; true when it was the last one.</summary>
        /// <exception cref="ProtocolException">A piece for another path, or a signature over <see cref="MaxTotal"/>.</exception>
        public bool Add(SignatureReply reply)
        {
            if (reply.Path != path)
                ProtocolException.Throw($"signature for {reply.Path} while waiting for {path}");
            _length += reply.Data.Length;
            if (_length > MaxTotal)
                ProtocolException.Throw($"signature of {path} exceeds {MaxTotal} bytes");
            _parts.Add(reply.Data);
            return !reply.More;
        }

        public byte[] ToArray()
        {
            if (_parts.Count == 1)
                return _parts[0].ToArray();
            var all = new byte[_length];
            int at = 0;
            foreach (var p in _parts)
            {
                p.Span.CopyTo(all.AsSpan(at));
                at += p.Length;
            }
            return all;
        }
    }
}
