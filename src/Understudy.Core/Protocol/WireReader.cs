using System.Buffers.Binary;
using System.Text;
using Understudy.Core.Paths;

namespace Understudy.Core.Protocol;

/// <summary>
/// Reads the body of one complete frame. Bodies arrive whole (the frame layer waits for the
/// full length), so running short here means the peer lied: every read validates and throws
/// <see cref="ProtocolException"/>, which ends the connection.
/// </summary>
internal ref struct WireReader(ReadOnlySpan<byte> body)
{
    private ReadOnlySpan<byte> _rest = body;

    public readonly int Remaining => _rest.Length;

    private ReadOnlySpan<byte> Take(int n)
    {
        if (n < 0 || n > _rest.Length)
            ProtocolException.Throw($"frame body too short: needed {n} more bytes, {_rest.Length} left");
        var s = _rest[..n];
        _rest = _rest[n..];
        return s;
    }

    public byte U8() => Take(1)[0];

    public bool Bool() => U8() switch
    {
        0 => false,
        1 => true,
        var b => throw new ProtocolException($"invalid boolean byte {b}"),
    };

    public ushort U16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));

    public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    public int I32() => unchecked((int)U32());

    public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    public long I64() => unchecked((long)U64());

    public UInt128 U128()
    {
        ulong lo = U64();
        ulong hi = U64();
        return new UInt128(hi, lo);
    }

    public ReadOnlySpan<byte> Bytes(int maxLength)
    {
        uint n = U32();
        if (n > (uint)maxLength)
            ProtocolException.Throw($"byte string of {n} bytes exceeds the limit of {maxLength}");
        return Take((int)n);
    }

    public ReadOnlySpan<byte> Raw(int n) => Take(n);

    public string String(int maxLength = 4096)
    {
        var b = Bytes(maxLength);
        try
        {
            return new UTF8Encoding(false, true).GetString(b);
        }
        catch (DecoderFallbackException)
        {
            throw new ProtocolException("string is not valid UTF-8");
        }
    }

    /// <summary>A relative path; anything that could escape a root (absolute, "..", NUL) is a protocol violation.</summary>
    public RelPath Path()
    {
        var b = Bytes(RelPath.MaxLength);
        if (!RelPath.TryCreate(b, out var p))
            ProtocolException.Throw($"invalid path '{RelPath.Display(b)}' (absolute, '..', '.', empty component or NUL)");
        return p;
    }

    public T Enum<T>(byte max) where T : struct, System.Enum
    {
        byte b = U8();
        if (b == 0 || b > max)
            ProtocolException.Throw($"invalid {typeof(T).Name} value {b}");
        return (T)(object)b;
    }

    /// <summary>Every message is read completely; trailing bytes mean a codec mismatch.</summary>
    public readonly void End()
    {
        if (!_rest.IsEmpty)
            ProtocolException.Throw($"{_rest.Length} unexpected trailing bytes in frame");
    }
}
