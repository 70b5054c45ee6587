using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Understudy.Core.Paths;

namespace Understudy.Core.Protocol;

/// <summary>Appends little-endian primitives and length-prefixed byte strings to a buffer.</summary>
internal readonly struct WireWriter(IBufferWriter<byte> buffer)
{
    public void U8(byte v)
    {
        buffer.GetSpan(1)[0] = v;
        buffer.Advance(1);
    }

    public void Bool(bool v) => U8(v ? (byte)1 : (byte)0);

    public void U16(ushort v)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(buffer.GetSpan(2), v);
        buffer.Advance(2);
    }

    public void U32(uint v)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.GetSpan(4), v);
        buffer.Advance(4);
    }

    public void I32(int v) => U32(unchecked((uint)v));

    public void U64(ulong v)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(buffer.GetSpan(8), v);
        buffer.Advance(8);
    }

    public void I64(long v) => U64(unchecked((ulong)v));

    public void U128(UInt128 v)
    {
        U64((ulong)v);
        U64((ulong)(v >> 64));
    }

    /// <summary>A u32 length followed by the bytes.</summary>
    public void Bytes(ReadOnlySpan<byte> v)
    {
        U32((uint)v.Length);
        Raw(v);
    }

    /// <summary>Like <see cref="Bytes"/>, with the bytes read from the file straight into the buffer
    /// (no copy staged on the way); <see cref="FileShrankException"/> when the file ends early.</summary>
    public void Content(FileContent c)
    {
        U32((uint)c.Length);
        if (c.Length == 0)
            return;
        c.ReadExactly(buffer.GetSpan(c.Length)[..c.Length]);
        buffer.Advance(c.Length);
    }

    public void Raw(ReadOnlySpan<byte> v)
    {
        if (v.IsEmpty)
            return;
        v.CopyTo(buffer.GetSpan(v.Length));
        buffer.Advance(v.Length);
    }

    public void String(string v) => Bytes(Encoding.UTF8.GetBytes(v));

    public void Path(RelPath p) => Bytes(p.Bytes);
}
