using System.Buffers;
using Understudy.Core.Delta;
using Xunit;
using static Understudy.Core.Tests.Delta.DeltaTestKit;

namespace Understudy.Core.Tests.Delta;

/// <summary>Holes of the new file travel as Hole instructions and are left unwritten by the applier.</summary>
public sealed class DeltaHoleTests
{
    [Fact]
    public void HolesOfABlockOrMore_AreNotRead_NorWritten_AndTheFileIsTheSame()
    {
        const int block = 4096;
        var basis = Random(64 * block, 1);
        var target = new byte[256 * block];
        basis.AsSpan(0, 16 * block).CopyTo(target);                       // data, then a hole of 100 blocks
        Random(8 * block, 2).CopyTo(target.AsSpan(116 * block));          // new data, then a hole up to the end
        var holes = new List<(long, long)> { (16 * block, 100 * block), (124 * block, 132 * block) };
        var read = new List<(long Offset, int Length)>();
        ReadAt reader = (buffer, offset) =>
        {
            int n = Reader(target)(buffer, offset);
            if (n > 0)
                read.Add((offset, n));
            return n;
        };

        var recorder = new Recorder();
        var encoded = new ArrayBufferWriter<byte>();
        var signature = Sign(basis, block);
        var stats = DeltaGenerator.Generate(signature, reader, holes, new TeeSink(recorder, new DeltaEncoder(encoded)));

        Assert.Equal([100L * block, 132L * block], recorder.Holes);
        Assert.DoesNotContain(read, r => r.Offset < 116 * block && r.Offset + r.Length > 16 * block);
        Assert.Equal(target.Length, stats.NewLength);
        var output = new byte[target.Length];
        var written = new List<(long, int)>();
        var applier = new DeltaApplier(signature, Reader(basis), (data, offset) =>
        {
            data.CopyTo(output.AsSpan((int)offset));
            written.Add((offset, data.Length));
        });
        Assert.Equal(encoded.WrittenCount, DeltaEncoder.DecodeInto(encoded.WrittenSpan, applier));
        Assert.True(applier.IsComplete);
        Assert.Equal(target.Length, applier.BytesWritten);
        Assert.Equal(target, output);
        Assert.DoesNotContain(written, w => w.Item1 < 116 * block && w.Item1 + w.Item2 > 16 * block);
        Assert.Equal(16, recorder.Copies.Sum(c => c.Count)); // the data before the hole still matches the basis
    }

    [Fact]
    public void HolesShorterThanABlock_AreReadAsZeros_SoBlocksStillMatch()
    {
        const int block = 4096;
        var basis = new byte[64 * block];
        Random(64 * block, 3).CopyTo(basis, 0);
        basis.AsSpan(10 * block + 100, 1000).Clear();
        var target = (byte[])basis.Clone();
        var recorder = new Recorder();
        DeltaGenerator.Generate(Sign(basis, block), Reader(target), [(10 * block + 100, 1000)], recorder);
        Assert.Empty(recorder.Holes);
        Assert.Equal(0, recorder.LiteralBytes);
    }

    [Fact]
    public void HoleInstruction_RoundTripsThroughTheWireEncoding()
    {
        var encoded = new ArrayBufferWriter<byte>();
        DeltaInstruction.HoleOf(5L << 40).Encode(encoded);
        Assert.Equal(System.Buffers.OperationStatus.Done, DeltaInstruction.TryDecode(encoded.WrittenSpan, out var i, out int used));
        Assert.Equal(encoded.WrittenCount, used);
        Assert.Equal(DeltaOp.Hole, i.Op);
        Assert.Equal(5L << 40, i.BlockIndex);
        Assert.Equal(System.Buffers.OperationStatus.InvalidData, DeltaInstruction.TryDecode([(byte)DeltaOp.Hole, 0], out _, out _));
    }

    private sealed class TeeSink(IDeltaSink a, IDeltaSink b) : IDeltaSink
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

        public void Hole(long length)
        {
            a.Hole(length);
            b.Hole(length);
        }

        public void Complete()
        {
            a.Complete();
            b.Complete();
        }
    }
}
