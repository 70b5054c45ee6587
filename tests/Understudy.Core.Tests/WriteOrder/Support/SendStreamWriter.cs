using System.Buffers.Binary;
using System.Text;
using Understudy.Core.WriteOrder;

namespace Understudy.Core.Tests.WriteOrder.Support;

/// <summary>Writes version 1 send streams by hand, byte for byte as the kernel lays them out, for the
/// corrupt-input tests and the model test.</summary>
internal sealed class SendStreamWriter
{
    private readonly MemoryStream _out = new();

    public SendStreamWriter(uint version = 1)
    {
        _out.Write("btrfs-stream\0"u8);
        Span<byte> v = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(v, version);
        _out.Write(v);
    }

    public byte[] ToArray() => _out.ToArray();

    public SendStreamWriter Command(SendCommandKind kind, params (SendAttribute Type, byte[] Value)[] attrs)
    {
        var body = new MemoryStream();
        Span<byte> h = stackalloc byte[4];
        foreach (var (type, value) in attrs)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(h, (ushort)type);
            BinaryPrimitives.WriteUInt16LittleEndian(h[2..], (ushort)value.Length);
            body.Write(h);
            body.Write(value);
        }
        return Raw(kind, body.ToArray());
    }

    /// <summary>A command with the given body and a correct CRC.</summary>
    public SendStreamWriter Raw(SendCommandKind kind, byte[] body)
    {
        var header = new byte[10];
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)body.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(4), (ushort)kind);
        uint crc = Crc32C.Update(Crc32C.Update(0, header), body);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(6), crc);
        _out.Write(header);
        _out.Write(body);
        return this;
    }

    public static byte[] S(string s) => Encoding.UTF8.GetBytes(s);

    public static byte[] U64(ulong v)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        return b;
    }

    public static byte[] Time(long sec, uint nsec)
    {
        var b = new byte[12];
        BinaryPrimitives.WriteInt64LittleEndian(b, sec);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), nsec);
        return b;
    }

    public static byte[] Uuid(Guid g) => g.ToByteArray(bigEndian: true);
}
