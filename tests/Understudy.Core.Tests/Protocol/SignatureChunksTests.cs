using System.Buffers;
using Understudy.Core.Delta;
using Understudy.Core.Paths;
using Understudy.Core.Protocol;
using Xunit;

namespace Understudy.Core.Tests.Protocol;

public sealed class SignatureChunksTests
{
    private static readonly RelPath s_path = RelPath.Parse("big/disk.img");

    /// <summary>A signature of a ~39 GiB file, built in memory: 300,000 blocks of 128 KiB, about 5.7 MiB serialized.</summary>
    private static FileSignature BigSignature()
    {
        const int blocks = 300_000;
        var rnd = new Random(42);
        var weak = new uint[blocks];
        var strong = new UInt128[blocks];
        for (int i = 0; i < blocks; i++)
        {
            weak[i] = (uint)rnd.NextInt64();
            strong[i] = new UInt128((ulong)rnd.NextInt64(), (ulong)rnd.NextInt64());
        }
        return new FileSignature(BlockSizing.MaxBlockSize, (long)blocks * BlockSizing.MaxBlockSize, 1234, weak, strong);
    }

    private static byte[] Encode(Message m)
    {
        var w = new ArrayBufferWriter<byte>();
        m.Write(new WireWriter(w));
        return w.WrittenSpan.ToArray();
    }

    [Fact]
    public void SignatureLargerThanOneFrame_RoundTripsThroughSeveralFrames()
    {
        var sig = BigSignature();
        var serialized = new ArrayBufferWriter<byte>();
        sig.Serialize(serialized);
        Assert.True(serialized.WrittenCount > Frame.MaxBody, "the test signature must not fit one frame");

        var assembler = new SignatureChunks.Assembler(s_path);
        int frames = 0;
        bool done = false;
        foreach (var reply in SignatureChunks.Split(s_path, serialized.WrittenMemory))
        {
            Assert.False(done, "no reply may follow the last one");
            var body = Encode(reply);
            Assert.True(body.Length <= Frame.MaxBody, $"frame body of {body.Length} bytes");
            var decoded = Assert.IsType<SignatureReply>(MessageCodec.Decode(MessageType.Signature, body));
            done = assembler.Add(decoded);
            frames++;
        }
        Assert.True(done);
        Assert.True(frames > 1);

        var bytes = assembler.ToArray();
        Assert.Equal(serialized.WrittenSpan.ToArray(), bytes);
        Assert.True(FileSignature.TryParse(new ReadOnlySequence<byte>(bytes), out var back));
        Assert.NotNull(back);
        Assert.Equal(sig.BlockCount, back.BlockCount);
        Assert.Equal(sig.FileLength, back.FileLength);
        Assert.Equal(sig.Seed, back.Seed);
        for (int i = 0; i < sig.BlockCount; i += 997)
        {
            Assert.Equal(sig.Weak(i), back.Weak(i));
            Assert.Equal(sig.Strong(i), back.Strong(i));
        }
    }

    [Fact]
    public void EmptySignature_IsOneFinalReply()
    {
        var reply = Assert.Single(SignatureChunks.Split(s_path, ReadOnlyMemory<byte>.Empty));
        Assert.False(reply.More);
        Assert.True(reply.Data.IsEmpty);
    }

    [Fact]
    public void ReplyWithoutMoreFlag_FromAnOlderPeer_IsTheWholeSignature()
    {
        var w = new ArrayBufferWriter<byte>();
        var ww = new WireWriter(w);
        ww.Path(s_path);
        ww.Bytes([1, 2, 3]);
        var m = Assert.IsType<SignatureReply>(MessageCodec.Decode(MessageType.Signature, w.WrittenMemory));
        Assert.False(m.More);
        Assert.Equal([1, 2, 3], m.Data.ToArray());
    }

    [Fact]
    public void PieceForAnotherPath_IsAProtocolError()
    {
        var assembler = new SignatureChunks.Assembler(s_path);
        Assert.Throws<ProtocolException>(() => assembler.Add(new SignatureReply(RelPath.Parse("other"), new byte[] { 1 }, More: true)));
    }
}
