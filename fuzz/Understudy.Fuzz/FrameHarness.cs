using System.Buffers;
using System.Text;
using Understudy.Agent.Peer;
using Understudy.Core.Jobs;
using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;

namespace Understudy.Fuzz;

/// <summary>
/// The receive path of a peer connection (<see cref="PeerConnection"/>'s frame reader): frames are cut from a byte
/// stream by <see cref="Frame.TryParse"/>, compressed bodies unpacked by <see cref="PeerConnection.Own"/>, bodies
/// decoded by <see cref="MessageCodec.Decode"/>. A decoded message must encode again and decode to the same bytes
/// (what a relaying peer relies on). Bad input: <see cref="ProtocolException"/>.
/// </summary>
internal static class FrameHarness
{
    /// <summary>The pipe hands the reader a sequence of segments; cutting the input this small makes every header
    /// and body cross a segment boundary somewhere.</summary>
    private const int SegmentSize = 61;

    public static void Run(byte[] input)
    {
        var buffer = Segments.Of(input, SegmentSize);
        try
        {
            while (Frame.TryParse(ref buffer, out var type, out byte flags, out var body) == Frame.ParseResult.Complete)
            {
                using var owned = PeerConnection.Own(type, body, flags);
                var message = MessageCodec.Decode(type, owned.Memory);
                CheckRoundTrip(type, message);
            }
        }
        catch (ProtocolException)
        {
        }
    }

    private static void CheckRoundTrip(MessageType type, Message message)
    {
        var first = new ArrayBufferWriter<byte>();
        message.Write(new WireWriter(first));
        var again = MessageCodec.Decode(type, first.WrittenMemory.ToArray());
        var second = new ArrayBufferWriter<byte>();
        again.Write(new WireWriter(second));
        if (!first.WrittenSpan.SequenceEqual(second.WrittenSpan))
            throw new InvalidOperationException($"{type} does not encode the same after a decode");
    }

    public static IEnumerable<(string, byte[])> Seeds()
    {
        var path = RelPath.Parse("www/index.html");
        var meta = new EntryMeta(0x1A4, 1000, 1000, 1_700_000_000_000_000_000);
        Xattr[] xattrs = [new("user.origin"u8.ToArray(), "seed"u8.ToArray())];
        var text = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("<p>Understudy seed content</p>\n", 80)));
        yield return ("hello-openjob", Frames(
            new Hello(1, Hello.CurrentVersion, "source1"),
            new OpenJob("web-data", "/srv/replica/web", "source1", PlanHarness.SampleJson)));
        yield return ("manifest", Frames(
            new ManifestRequest(RelPath.Root, WithHashes: true, WithXattrs: true),
            new ManifestBatch([
                new ManifestItem(new FileEntry(path, EntryKind.File, 0x1A4, 1000, 1000, 42, 1, Inode: 7, AllocatedBytes: 4096), UInt128.MaxValue,
                    [new XattrDigest("user.origin"u8.ToArray(), 99)]),
                new ManifestItem(new FileEntry(RelPath.Parse("www/link"), EntryKind.Symlink, 0x1FF, 0, 0, 5, 2, "index.html"u8.ToArray()), null),
            ]),
            new ManifestEnd(2, null)));
        yield return ("operations", Frames(
            new MakeDirectory(RelPath.Parse("www"), meta with { Mode = 0x1ED }, xattrs),
            new FileBegin(path, 5, meta, xattrs, Complete: true, "hello"u8.ToArray()),
            new FileBegin(RelPath.Parse("www/big.bin"), 2048, meta, null, Complete: false, ReadOnlyMemory<byte>.Empty),
            new FileData(0, text.AsMemory(0, 1024)),
            new FileData(1024, text.AsMemory(0, 1024)),
            new FileEnd(),
            new SymlinkOp(RelPath.Parse("www/link"), "index.html"u8.ToArray(), meta),
            new HardLinkOp(RelPath.Parse("www/hard"), path),
            new SetMetadataOp(path, meta, []),
            new RenameOp(RelPath.Parse("www/hard"), RelPath.Parse("www/hard2")),
            new DeleteOp(RelPath.Parse("www/hard2")),
            new Core.Protocol.Barrier(7),
            new Ack(7)));
        yield return ("delta", Frames(
            new SignatureRequest(path),
            new SignatureReply(path, DeltaHarness.SampleSignature(), More: false),
            new DeltaBegin(path, DeltaHarness.NewLength, meta, null),
            new DeltaData(DeltaHarness.SampleDelta()),
            new FileEnd()));
        yield return ("control-points", Frames(
            new ControlRequest("failover-status", "{\"job\":\"web-data\"}"),
            new ControlReply(true, "{}"),
            new JobOpened("web-data", 12, true, 3, 1_700_000_000),
            new PointBegin(4, 3, 1_700_000_001),
            new PointData("stream"u8.ToArray()),
            new PointEnd(4, 1_700_000_001),
            new PointApplied(4),
            new PointCurrent(4, 1_700_000_002),
            new Ping(1),
            new Pong(1),
            new ApplyFailed(ErrorCode.Io, "www/x", "disk full"),
            new ErrorMessage(ErrorCode.Refused, "not trusted"),
            new CloseJob()));
        yield return ("compressed-lz4", Compressed(Compression.Lz4, new FileData(0, text)));
        yield return ("compressed-zstd", Compressed(Compression.Zstd, new FileData(0, text)));
    }

    private static byte[] Frames(params Message[] messages)
    {
        var all = new ArrayBufferWriter<byte>();
        foreach (var m in messages)
        {
            var body = new ArrayBufferWriter<byte>();
            m.Write(new WireWriter(body));
            Frame.WriteHeader(all.GetSpan(Frame.HeaderSize), m.Type, 0, body.WrittenCount);
            all.Advance(Frame.HeaderSize);
            all.Write(body.WrittenSpan);
        }
        return all.WrittenSpan.ToArray();
    }

    /// <summary>As <see cref="PeerConnection"/> sends a bulk frame it compressed: the original length, then the codec's output.</summary>
    private static byte[] Compressed(Compression c, Message m)
    {
        var body = new ArrayBufferWriter<byte>();
        m.Write(new WireWriter(body));
        var packed = new byte[FrameCompression.Bound(c, body.WrittenCount)];
        int n = FrameCompression.Compress(c, body.WrittenSpan, packed);
        var frame = new byte[Frame.HeaderSize + 4 + n];
        Frame.WriteHeader(frame, m.Type, c == Compression.Lz4 ? Frame.FlagLz4 : Frame.FlagZstd, 4 + n);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(Frame.HeaderSize), body.WrittenCount);
        packed.AsSpan(0, n).CopyTo(frame.AsSpan(Frame.HeaderSize + 4));
        return frame;
    }
}
