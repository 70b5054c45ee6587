using System.Buffers.Binary;
using Understudy.Core.Tests.WriteOrder.Support;
using Understudy.Core.WriteOrder;
using Xunit;
using static Understudy.Core.Tests.WriteOrder.Support.SendStreamWriter;

namespace Understudy.Core.Tests.WriteOrder;

public sealed class SendStreamReaderTests
{
    private static List<SendCommand> ReadAll(byte[] stream, SendStreamLimits? limits = null)
    {
        var r = new SendStreamReader(new MemoryStream(stream), limits);
        r.ReadHeader();
        var list = new List<SendCommand>();
        while (r.ReadCommand() is { } c)
            list.Add(c);
        return list;
    }

    private static byte[] Small() => new SendStreamWriter()
        .Command(SendCommandKind.Snapshot, (SendAttribute.Path, S("s1")), (SendAttribute.Uuid, Uuid(Guid.NewGuid())), (SendAttribute.Ctransid, U64(7)),
            (SendAttribute.CloneUuid, Uuid(Guid.NewGuid())), (SendAttribute.CloneCtransid, U64(5)))
        .Command(SendCommandKind.Write, (SendAttribute.Path, S("a/b")), (SendAttribute.FileOffset, U64(4096)), (SendAttribute.Data, S("hello")))
        .Command(SendCommandKind.End)
        .ToArray();

    [Fact]
    public void Read_HandMadeStream_GivesCommandsAndAttributes()
    {
        var cmds = ReadAll(Small());
        Assert.Equal([SendCommandKind.Snapshot, SendCommandKind.Write, SendCommandKind.End], cmds.Select(c => c.Kind));
        Assert.Equal("a/b"u8.ToArray(), cmds[1].RelativePath(SendAttribute.Path).ToArray());
        Assert.Equal(4096, cmds[1].Offset64(SendAttribute.FileOffset));
        Assert.Equal("hello"u8.ToArray(), cmds[1].Bytes(SendAttribute.Data).ToArray());
    }

    [Fact]
    public void Read_TruncatedAnywhere_ThrowsOrEndsBetweenCommands()
    {
        var full = Small();
        // Cut at every byte: inside the header or a command it must throw; only a cut exactly between
        // commands reads cleanly, and then the End is missing, which the journal refuses.
        var boundaries = new HashSet<int>();
        int pos = 17;
        boundaries.Add(pos);
        while (pos < full.Length)
        {
            pos += 10 + (int)BinaryPrimitives.ReadUInt32LittleEndian(full.AsSpan(pos));
            boundaries.Add(pos);
        }
        for (int cut = 0; cut < full.Length; cut++)
        {
            var part = full[..cut];
            if (boundaries.Contains(cut))
                Assert.DoesNotContain(ReadAll(part), c => c.Kind == SendCommandKind.End);
            else
                Assert.Throws<InvalidSendStreamException>(() => ReadAll(part));
        }
    }

    [Fact]
    public void Read_AnyFlippedBitInACommand_FailsTheChecksum()
    {
        var full = Small();
        for (int i = 17; i < full.Length; i++)
        {
            if (i - 17 < 4 || (i >= 17 && IsLengthByte(full, i)))
                continue; // a flipped length is a different failure (cut short or over the limit), tested apart
            var bad = (byte[])full.Clone();
            bad[i] ^= 0x10;
            var e = Assert.Throws<InvalidSendStreamException>(() => ReadAll(bad));
            Assert.True(e.Message.Contains("checksum", StringComparison.Ordinal) || e.Message.Contains("unknown command", StringComparison.Ordinal), e.Message);
        }
    }

    private static bool IsLengthByte(byte[] s, int i)
    {
        int pos = 17;
        while (pos < s.Length)
        {
            if (i >= pos && i < pos + 4)
                return true;
            pos += 10 + (int)BinaryPrimitives.ReadUInt32LittleEndian(s.AsSpan(pos));
        }
        return false;
    }

    [Fact]
    public void Read_HugeCommandLength_ThrowsBeforeAllocating()
    {
        var s = new SendStreamWriter().ToArray().Concat(new byte[10]).ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(17), 0xFFFF_FFF0);
        BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(21), (ushort)SendCommandKind.Write);
        var e = Assert.Throws<InvalidSendStreamException>(() => ReadAll(s));
        Assert.Contains("exceeds the limit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_AttributeLongerThanItsCommand_Throws()
    {
        var body = new byte[6];
        BinaryPrimitives.WriteUInt16LittleEndian(body, (ushort)SendAttribute.Path);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(2), 60000);
        var s = new SendStreamWriter().Raw(SendCommandKind.Unlink, body).ToArray();
        var e = Assert.Throws<InvalidSendStreamException>(() => ReadAll(s));
        Assert.Contains("runs past the command's end", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not-a-stream\0\u0001\0\0\0", "magic")]
    [InlineData("btrfs-stream\0\u0009\0\0\0", "version 9")]
    [InlineData("btrfs-str", "cut short")]
    public void Read_BadHeader_Throws(string header, string expected)
    {
        var e = Assert.Throws<InvalidSendStreamException>(() => ReadAll(System.Text.Encoding.Latin1.GetBytes(header)));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("a/../../x")]
    [InlineData("a//b")]
    [InlineData("./a")]
    public void RelativePath_Escaping_Throws(string path)
    {
        var cmds = ReadAll(new SendStreamWriter().Command(SendCommandKind.Unlink, (SendAttribute.Path, S(path))).ToArray());
        Assert.Throws<InvalidSendStreamException>(() => cmds[0].RelativePath(SendAttribute.Path).ToArray());
    }

    [Fact]
    public void Getter_WrongSizeOrMissing_Throws()
    {
        var cmds = ReadAll(new SendStreamWriter().Command(SendCommandKind.Truncate, (SendAttribute.Path, S("f")), (SendAttribute.Size, [1, 2, 3])).ToArray());
        Assert.Throws<InvalidSendStreamException>(() => cmds[0].U64(SendAttribute.Size));
        Assert.Throws<InvalidSendStreamException>(() => cmds[0].U64(SendAttribute.Mode));
    }

    [BtrfsFact]
    public void Read_RealStreams_FullAndIncremental_ParseToEnd()
    {
        using var b = new BtrfsScratch();
        File.WriteAllText(Path.Combine(b.Vol, "a"), "one");
        Directory.CreateDirectory(Path.Combine(b.Vol, "d"));
        var s0 = b.Snapshot("0");
        File.WriteAllBytes(Path.Combine(b.Vol, "d", "big"), new byte[300_000]);
        File.Move(Path.Combine(b.Vol, "a"), Path.Combine(b.Vol, "d", "a2"));
        var s1 = b.Snapshot("1");
        var full = ReadAll(File.ReadAllBytes(b.Send(s0, null, "full")));
        Assert.Equal(SendCommandKind.Subvol, full[0].Kind);
        Assert.Equal(SendCommandKind.End, full[^1].Kind);
        var inc = ReadAll(File.ReadAllBytes(b.Send(s1, s0, "inc")));
        Assert.Equal(SendCommandKind.Snapshot, inc[0].Kind);
        Assert.Contains(inc, c => c.Kind == SendCommandKind.Rename);
        Assert.Equal(300_000, inc.Where(c => c.Kind == SendCommandKind.Write).Sum(c => c.Bytes(SendAttribute.Data).Length));
    }
}
