using System.Buffers;
using K4os.Compression.LZ4;
using Understudy.Core.Jobs;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Peer;

/// <summary>The codecs of compressed frame bodies (LZ4, or zstd at level 1); a body that does not decode is a protocol error.</summary>
internal static class FrameCompression
{
    public static int Bound(Compression c, int length) => c == Compression.Lz4
        ? LZ4Codec.MaximumOutputSize(length)
        : ZstdSharp.Compressor.GetCompressBound(length);

    public static int Compress(Compression c, ReadOnlySpan<byte> src, Span<byte> dst)
    {
        if (c == Compression.Lz4)
            return LZ4Codec.Encode(src, dst, LZ4Level.L00_FAST);
        using var z = new ZstdSharp.Compressor(1);
        return z.Wrap(src, dst);
    }

    public static int Decompress(Compression c, ReadOnlySpan<byte> src, Span<byte> dst)
    {
        try
        {
            if (c == Compression.Lz4)
                return LZ4Codec.Decode(src, dst);
            using var z = new ZstdSharp.Decompressor();
            return z.Unwrap(src, dst);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new ProtocolException($"corrupt compressed frame: {e.Message}");
        }
    }
}
