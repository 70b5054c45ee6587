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

/// <summary>Random files with holes of every size and alignment, random edits against random bases: the file is always rebuilt.</summary>
public sealed class DeltaHoleRandomTests
{
    [Theory]
    [InlineData(700)]
    [InlineData(2048)]
    [InlineData(4096)]
    public void RandomHolesAndEdits_TheFileIsAlwaysRebuiltExactly(int block)
    {
        var rng = new System.Random(block);
        for (int round = 0; round < 150; round++)
        {
            int size = rng.Next(1, 64) * 4096 + rng.Next(4096);
            var basis = Random(size, rng.Next());
            var target = (byte[])basis.Clone();
            for (int e = rng.Next(0, 6); e > 0; e--)
            {
                int at = rng.Next(target.Length);
                int len = Math.Min(target.Length - at, rng.Next(1, 9000));
                Random(len, rng.Next()).CopyTo(target.AsSpan(at));
            }
            if (rng.Next(3) == 0)
                Array.Resize(ref target, target.Length + rng.Next(1, 50_000));
            var holes = new List<(long, long)>();
            long pos = 0;
            while (pos < target.Length && holes.Count < 6)
            {
                long start = pos + rng.Next(0, 40_000);
                if (rng.Next(2) == 0)
                    start &= ~4095L; // most holes are whole blocks of the file system
                long len = rng.Next(1, 60_000);
                if (start >= target.Length)
                    break;
                len = Math.Min(len, target.Length - start);
                target.AsSpan((int)start, (int)len).Clear();
                holes.Add((start, len));
                pos = start + len + 1;
            }

            var encoded = new ArrayBufferWriter<byte>();
            var signature = Sign(basis, block);
            DeltaGenerator.Generate(signature, Reader(target), holes, new DeltaEncoder(encoded));
            var output = new byte[target.Length];
            var applier = new DeltaApplier(signature, Reader(basis), (data, offset) => data.CopyTo(output.AsSpan((int)offset)));
            DeltaEncoder.DecodeInto(encoded.WrittenSpan, applier);
            Assert.True(applier.IsComplete, $"round {round}");
            Assert.True(target.AsSpan().SequenceEqual(output), $"block {block}, round {round}: first difference at {target.AsSpan().CommonPrefixLength(output)} of {target.Length}; holes {string.Join(", ", holes)}");
        }
    }
}
