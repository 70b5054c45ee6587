using Xunit;
using System.Buffers;
using Understudy.Core.Delta;

namespace Understudy.Core.Tests.Delta;

/// <summary>In-memory readers, writers and sinks for delta tests.</summary>
internal static class DeltaTestKit
{
    public static ReadAt Reader(byte[] data, int maxPerRead = int.MaxValue) => (buffer, offset) =>
    {
        if (offset >= data.Length)
            return 0;
        int n = (int)Math.Min(Math.Min(buffer.Length, data.Length - offset), maxPerRead);
        data.AsSpan((int)offset, n).CopyTo(buffer);
        return n;
    };

    public static byte[] Random(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static FileSignature Sign(byte[] basis, int? blockSize = null) =>
        SignatureBuilder.Compute(Reader(basis), basis.Length, blockSize ?? BlockSizing.For(basis.Length), seed: 12345);

    /// <summary>Generates the delta, sends it through the wire encoding and applies it.</summary>
    public static (byte[] Result, DeltaStats Stats, Recorder Recorded) RoundTrip(byte[] basis, byte[] target, int? blockSize = null)
    {
        var signature = Sign(basis, blockSize);
        var recorder = new Recorder();
        var encoded = new ArrayBufferWriter<byte>();
        var stats = DeltaGenerator.Generate(signature, Reader(target, maxPerRead: 10_000), new Tee(recorder, new DeltaEncoder(encoded)));

        var output = new MemoryStream();
        var applier = new DeltaApplier(signature, Reader(basis), (data, offset) =>
        {
            Assert.Equal(output.Length, offset);
            output.Write(data);
        });
        int consumed = DeltaEncoder.DecodeInto(encoded.WrittenSpan, applier);
        Assert.Equal(encoded.WrittenCount, consumed);
        Assert.True(applier.IsComplete);
        Assert.Equal(target.Length, applier.BytesWritten);
        return (output.ToArray(), stats, recorder);
    }

    internal sealed class Recorder : IDeltaSink
    {
        public List<(long Block, int Count)> Copies { get; } = [];

        public List<int> Literals { get; } = [];

        public long LiteralBytes => Literals.Sum(l => (long)l);

        public bool Completed { get; private set; }

        public void Copy(long blockIndex, int blockCount) => Copies.Add((blockIndex, blockCount));

        public void Literal(ReadOnlySpan<byte> data)
        {
            Assert.InRange(data.Length, 1, DeltaInstruction.MaxLiteralLength);
            Literals.Add(data.Length);
        }

        public void Complete() => Completed = true;

        public List<long> Holes { get; } = [];

        public void Hole(long length) => Holes.Add(length);
    }

    private sealed class Tee(IDeltaSink a, IDeltaSink b) : IDeltaSink
    {
        public void Copy(long blockIndex, int blockCount)
        {
            a.Copy(blockIndex, blockCount);
            b.Copy(blockIndex, blockCount);
        }

        public void Literal(ReadOnlySpan<byte> data)
        {
            a.Literal(data);
            b.Literal(data);
        }

        public void Complete()
        {
            a.Complete();
            b.Complete();
        }

        public void Hole(long length)
        {
            a.Hole(length);
            b.Hole(length);
        }
    }
}
