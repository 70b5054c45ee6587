using System.Buffers;
using System.Text;
using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;
using Xunit;

namespace Understudy.Core.Tests.Protocol;

public sealed class ManifestCodecTests
{
    private static byte[] Encode(Message m)
    {
        var w = new ArrayBufferWriter<byte>();
        m.Write(new WireWriter(w));
        return w.WrittenSpan.ToArray();
    }

    [Theory]
    [InlineData(false, false, 0)]
    [InlineData(true, false, 1)]
    [InlineData(false, true, 2)]
    [InlineData(true, true, 3)]
    public void ManifestRequest_FlagsRoundTrip_AndWithoutXattrsIsTheOldBoolean(bool hashes, bool xattrs, byte flags)
    {
        var body = Encode(new ManifestRequest(RelPath.Parse("a/b"), hashes, xattrs));
        Assert.Equal(flags, body[^1]);
        var back = Assert.IsType<ManifestRequest>(MessageCodec.Decode(MessageType.ManifestRequest, body));
        Assert.Equal((hashes, xattrs), (back.WithHashes, back.WithXattrs));
    }

    [Fact]
    public void ManifestRequest_UnknownFlag_IsAProtocolError()
    {
        var body = Encode(new ManifestRequest(RelPath.Root, true));
        body[^1] = 4;
        Assert.Throws<ProtocolException>(() => MessageCodec.Decode(MessageType.ManifestRequest, body));
    }

    [Fact]
    public void ManifestBatch_AllocatedBytesAndXattrDigests_RoundTrip()
    {
        var xattrs = XattrDigest.Of([new Xattr(Encoding.ASCII.GetBytes("user.a"), [1, 2]), new Xattr(Encoding.ASCII.GetBytes("user.b"), [])]);
        var items = new[]
        {
            new ManifestItem(new FileEntry(RelPath.Parse("f"), EntryKind.File, 0x9ED, 1, 2, 16 << 20, 123, null, 77, 0, 2, 4096), UInt128.MaxValue, xattrs),
            new ManifestItem(new FileEntry(RelPath.Parse("d"), EntryKind.Directory, 0x3FF, 0, 0, 0, -5, AllocatedBytes: 4096), null, []),
            new ManifestItem(new FileEntry(RelPath.Parse("l"), EntryKind.Symlink, 0x1FF, 0, 0, 1, 9, [(byte)'f']), null, null),
        };
        var back = Assert.IsType<ManifestBatch>(MessageCodec.Decode(MessageType.ManifestBatch, Encode(new ManifestBatch(items)))).Items;

        Assert.Equal(4096, back[0].Entry.AllocatedBytes);
        Assert.Equal((77ul, 2u, 0x9EDu), (back[0].Entry.Inode, back[0].Entry.LinkCount, back[0].Entry.Mode));
        Assert.Equal(UInt128.MaxValue, back[0].Hash);
        Assert.Null(XattrDigest.Describe(xattrs, back[0].Xattrs!));
        Assert.Empty(back[1].Xattrs!);
        Assert.Null(back[2].Xattrs);
        Assert.Equal("f", Encoding.ASCII.GetString(back[2].Entry.LinkTarget!));
    }

    [Fact]
    public void XattrDigest_Describe_NamesEachAttributeThatDiffers()
    {
        static Xattr X(string n, string v) => new(Encoding.ASCII.GetBytes(n), Encoding.ASCII.GetBytes(v));
        var source = XattrDigest.Of([X("user.changed", "1"), X("user.gone", "x"), X("user.same", "s")]);
        var target = XattrDigest.Of([X("user.changed", "2"), X("user.planted", "y"), X("user.same", "s")]);

        Assert.Equal("user.changed differs, user.gone missing on the target, user.planted extra on the target", XattrDigest.Describe(source, target));
        Assert.Null(XattrDigest.Describe(source, source));
    }
}
