using System.Buffers;
using Understudy.Core.Delta;
using Xunit;
using static Understudy.Core.Tests.Delta.DeltaTestKit;

namespace Understudy.Core.Tests.Delta;

public class DeltaValidationTests
{
    [Theory]
    [InlineData(0, 700)]
    [InlineData(490_000, 700)]
    [InlineData(1_000_000, 1000)]
    [InlineData(1_000_001, 1008)]
    [InlineData(1L << 40, 128 * 1024)]
    public void Block_size_follows_sqrt_rounded_to_8_within_limits(long length, int expected) =>
        Assert.Equal(expected, BlockSizing.For(length));

    [Fact]
    public void Rolling_checksum_equals_recomputed_checksum()
    {
        var data = Random(5000, seed: 20);
        const int Window = 777;
        var rolling = RollingChecksum.Compute(data.AsSpan(0, Window));
        for (int i = 1; i + Window <= data.Length; i++)
        {
            rolling.Roll(data[i - 1], data[i + Window - 1]);
            Assert.Equal(RollingChecksum.Of(data.AsSpan(i, Window)), rolling.Value);
        }
    }

    [Fact]
    public void Signature_serializes_and_parses_back()
    {
        var basis = Random(100_003, seed: 21);
        var signature = Sign(basis, 1000);
        var writer = new ArrayBufferWriter<byte>();
        Assert.Equal(signature.SerializedLength, signature.Serialize(writer));

        Assert.True(FileSignature.TryParse(new ReadOnlySequence<byte>(writer.WrittenMemory), out var parsed));
        Assert.NotNull(parsed);
        Assert.Equal(signature.BlockSize, parsed.BlockSize);
        Assert.Equal(signature.FileLength, parsed.FileLength);
        Assert.Equal(signature.Seed, parsed.Seed);
        Assert.Equal(101, parsed.BlockCount);
        for (int i = 0; i < parsed.BlockCount; i++)
        {
            Assert.Equal(signature.Weak(i), parsed.Weak(i));
            Assert.Equal(signature.Strong(i), parsed.Strong(i));
        }
    }

    [Fact]
    public void Signature_with_wrong_sizes_is_rejected()
    {
        var writer = new ArrayBufferWriter<byte>();
        Sign(Random(10_000, seed: 22), 1000).Serialize(writer);
        var good = writer.WrittenSpan.ToArray();

        Assert.False(Parse(good[..^1]));                 // truncated
        Assert.False(Parse([.. good, 0]));                // trailing byte
        Assert.False(Parse(good[..10]));                  // short header
        var badMagic = (byte[])good.Clone();
        badMagic[0] = (byte)'X';
        Assert.False(Parse(badMagic));
        var hugeBlock = (byte[])good.Clone();
        hugeBlock[6] = 0x10;                              // block size 1 MiB+
        Assert.False(Parse(hugeBlock));
        var hugeLength = (byte[])good.Clone();
        hugeLength[15] = 0x7F;                            // file length ~2^63: block count overflow
        Assert.False(Parse(hugeLength));
        var negative = (byte[])good.Clone();
        negative[15] = 0x80;
        Assert.False(Parse(negative));

        static bool Parse(byte[] bytes) => FileSignature.TryParse(new ReadOnlySequence<byte>(bytes), out _);
    }

    [Fact]
    public void Instructions_round_trip_through_the_codec()
    {
        var literal = Random(DeltaInstruction.MaxLiteralLength, seed: 23);
        var writer = new ArrayBufferWriter<byte>();
        var encoder = new DeltaEncoder(writer);
        encoder.Copy(int.MaxValue - 1, 1);
        encoder.Copy(0, int.MaxValue);
        encoder.Literal(literal);
        encoder.Literal([7]);
        encoder.Complete();

        var rec = new Recorder();
        var bytes = writer.WrittenSpan;
        // Byte-by-byte arrival: every prefix must be "need more data", never an error.
        int consumed = 0;
        for (int end = 0; end <= bytes.Length; end++)
            consumed += DeltaEncoder.DecodeInto(bytes[consumed..end], rec);

        Assert.Equal(bytes.Length, consumed);
        Assert.Equal([(int.MaxValue - 1L, 1), (0L, int.MaxValue)], rec.Copies);
        Assert.Equal([DeltaInstruction.MaxLiteralLength, 1], rec.Literals);
        Assert.True(rec.Completed);
    }

    [Theory]
    [InlineData(new byte[] { 0 })]                                   // unknown op
    [InlineData(new byte[] { 9, 1 })]                                // unknown op
    [InlineData(new byte[] { 1, 0, 0 })]                             // copy of zero blocks
    [InlineData(new byte[] { 1, 0x80, 0x80, 0x80, 0x80, 0x08, 1 })]  // block index 2^31
    [InlineData(new byte[] { 1, 0x80, 0x00, 1 })]                    // overlong varint
    [InlineData(new byte[] { 2, 0 })]                                // empty literal
    [InlineData(new byte[] { 2, 0x81, 0x80, 0x04 })]                 // literal 65537 bytes
    [InlineData(new byte[] { 2, 0xFF, 0xFF, 0xFF, 0x7F })]           // literal 256 MiB
    [InlineData(new byte[] { 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF })] // endless varint
    public void Malformed_instructions_are_rejected(byte[] bytes)
    {
        Assert.Equal(OperationStatus.InvalidData, DeltaInstruction.TryDecode(bytes, out _, out int consumed));
        Assert.Equal(0, consumed);
        Assert.Throws<InvalidDeltaException>(() => DeltaEncoder.DecodeInto(bytes, new Recorder()));
    }

    [Fact]
    public void Applier_rejects_out_of_range_copies_and_oversized_literals_without_writing()
    {
        var basis = Random(10_000, seed: 24);
        var signature = Sign(basis, 1000);
        long written = 0;
        var applier = new DeltaApplier(signature, Reader(basis), (data, _) => written += data.Length);

        Assert.Throws<InvalidDeltaException>(() => applier.Copy(10, 1));
        Assert.Throws<InvalidDeltaException>(() => applier.Copy(9, 2));
        Assert.Throws<InvalidDeltaException>(() => applier.Copy(-1, 1));
        Assert.Throws<InvalidDeltaException>(() => applier.Copy(0, 0));
        Assert.Throws<InvalidDeltaException>(() => applier.Copy(long.MaxValue, int.MaxValue));
        Assert.Throws<InvalidDeltaException>(() => applier.Literal(new byte[DeltaInstruction.MaxLiteralLength + 1]));
        Assert.Throws<InvalidDeltaException>(() => applier.Literal([]));
        Assert.Equal(0, written);

        applier.Copy(9, 1);
        applier.Complete();
        Assert.Equal(1000, written);
        Assert.Throws<InvalidDeltaException>(() => applier.Literal([1]));
    }

    /// <summary>A hole can take the new file to the last offset a long can hold; data after it would end past that,
    /// and the target's size check (offset + length) wrapped round to a negative number and let the write through.</summary>
    [Fact]
    public void Applier_refuses_data_after_a_hole_that_would_end_past_the_largest_offset()
    {
        var basis = Random(10_000, seed: 25);
        var writes = new List<long>();
        var applier = new DeltaApplier(Sign(basis, 1000), Reader(basis), (_, offset) => writes.Add(offset));

        applier.Hole(long.MaxValue - 10);
        Assert.Throws<InvalidDeltaException>(() => applier.Literal(new byte[100]));
        Assert.Throws<InvalidDeltaException>(() => applier.Copy(0, 1));
        Assert.Empty(writes);
        Assert.Equal(long.MaxValue - 10, applier.BytesWritten);
    }

    [Fact]
    public void Applier_detects_a_basis_changed_after_its_signature()
    {
        var basis = Random(10_000, seed: 25);
        var signature = Sign(basis, 1000);
        basis[4321] ^= 1;
        var applier = new DeltaApplier(signature, Reader(basis), (_, _) => { });
        var e = Assert.Throws<InvalidDeltaException>(() => applier.Copy(0, 10));
        Assert.True(e.BasisChanged);

        var shrunk = new DeltaApplier(signature, Reader(basis[..5000]), (_, _) => { });
        Assert.True(Assert.Throws<InvalidDeltaException>(() => shrunk.Copy(4, 2)).BasisChanged);
    }

    [Fact]
    public void Signature_of_a_basis_that_ends_early_reports_basis_changed()
    {
        var basis = Random(5000, seed: 26);
        var e = Assert.Throws<InvalidDeltaException>(() => SignatureBuilder.Compute(Reader(basis), 6000));
        Assert.True(e.BasisChanged);
    }

    [Fact]
    public void Generator_works_over_real_files_and_streams()
    {
        string dir = Directory.CreateTempSubdirectory("understudy-delta-").FullName;
        try
        {
            var basis = Random(2_000_000, seed: 27);
            var target = (byte[])basis.Clone();
            target[1_000_000] ^= 0xFF;
            File.WriteAllBytes(Path.Combine(dir, "basis"), basis);
            File.WriteAllBytes(Path.Combine(dir, "new"), target);

            using var basisHandle = File.OpenHandle(Path.Combine(dir, "basis"));
            var signature = SignatureBuilder.Compute(FileAccessors.Reader(basisHandle), basis.Length);
            using (var output = File.OpenHandle(Path.Combine(dir, "out"), FileMode.CreateNew, FileAccess.Write))
            using (var newFile = File.OpenRead(Path.Combine(dir, "new")))
            {
                var applier = new DeltaApplier(signature, FileAccessors.Reader(basisHandle), FileAccessors.Writer(output));
                var stats = DeltaGenerator.Generate(signature, newFile, applier);
                Assert.Equal(BlockSizing.For(basis.Length), stats.LiteralBytes);
            }
            Assert.Equal(target, File.ReadAllBytes(Path.Combine(dir, "out")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
