using Understudy.Core.Manifest;
using Understudy.Core.Posix;

namespace Understudy.Core.Protocol;

/// <summary>One protocol message; the frame type is its identity on the wire.</summary>
internal abstract record Message
{
    public abstract MessageType Type { get; }

    public abstract void Write(WireWriter w);

    /// <summary>Bytes the body is expected to take, when a message knows (bulk data): the sender
    /// then writes it straight into its send buffer instead of staging a copy. An estimate too
    /// small only costs that copy after all.</summary>
    public virtual int BodySizeHint => 0;
}

/// <summary>Metadata carried with every created entry: permission bits, owner, mtime (ns).</summary>
internal readonly record struct EntryMeta(uint Mode, uint Uid, uint Gid, long MtimeNs)
{
    public static EntryMeta From(FileEntry e) => new(e.Mode, e.Uid, e.Gid, e.MtimeNs);

    public void Write(WireWriter w)
    {
        w.U32(Mode);
        w.U32(Uid);
        w.U32(Gid);
        w.I64(MtimeNs);
    }

    public static EntryMeta Read(ref WireReader r)
    {
        uint mode = r.U32();
        if (mode > 0xFFF)
            ProtocolException.Throw($"invalid mode 0{Convert.ToString(mode, 8)}");
        return new EntryMeta(mode, r.U32(), r.U32(), r.I64());
    }
}

internal static class XattrCodec
{
    /// <summary>Linux limits: names 255 bytes, values 64 KiB, and we accept at most 256 per entry
    /// (a sender checks them first: <see cref="ReceiverLimits"/>).</summary>
    public const int MaxCount = 256;
    public const int MaxName = 255;
    public const int MaxValue = 65536;

    /// <summary>Names and values of one entry together: they travel in one frame with up to 256 KiB of inline data.</summary>
    public const int MaxTotal = 1 << 20;

    public static void Write(WireWriter w, IReadOnlyList<Xattr>? xattrs)
    {
        if (xattrs is null)
        {
            w.U16(ushort.MaxValue);
            return;
        }
        w.U16((ushort)xattrs.Count);
        foreach (var x in xattrs)
        {
            w.Bytes(x.Name);
            w.Bytes(x.Value);
        }
    }

    /// <summary>Null means "leave the target's attributes alone" (the sender did not read them).</summary>
    public static IReadOnlyList<Xattr>? Read(ref WireReader r)
    {
        ushort n = r.U16();
        if (n == ushort.MaxValue)
            return null;
        if (n > MaxCount)
            ProtocolException.Throw($"{n} extended attributes exceed the limit of {MaxCount}");
        var list = new Xattr[n];
        long total = 0;
        for (int i = 0; i < n; i++)
        {
            var name = r.Bytes(MaxName).ToArray();
            if (name.Length == 0 || name.AsSpan().IndexOf((byte)0) >= 0)
                ProtocolException.Throw("invalid extended attribute name");
            list[i] = new Xattr(name, r.Bytes(MaxValue).ToArray());
            total += name.Length + list[i].Value.Length;
        }
        if (total > MaxTotal)
            ProtocolException.Throw($"extended attributes of {total} bytes exceed the limit of {MaxTotal}");
        return list;
    }
}
