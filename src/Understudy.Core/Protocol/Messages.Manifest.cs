using Understudy.Core.Manifest;
using Understudy.Core.Paths;

namespace Understudy.Core.Protocol;

/// <summary>Source → target: list the target tree (below <see cref="Subtree"/>), with content hashes and
/// extended attributes (their digests) when asked. On the wire the two flags are one byte (bit 0 hashes,
/// bit 1 xattrs), so a request without xattrs is the same bytes as the boolean it replaced.</summary>
internal sealed record ManifestRequest(RelPath Subtree, bool WithHashes, bool WithXattrs = false) : Message
{
    private const byte HashesFlag = 1;
    private const byte XattrsFlag = 2;

    public override MessageType Type => MessageType.ManifestRequest;

    public override void Write(WireWriter w)
    {
        w.Path(Subtree);
        w.U8((byte)((WithHashes ? HashesFlag : 0) | (WithXattrs ? XattrsFlag : 0)));
    }

    public static ManifestRequest Read(ref WireReader r)
    {
        var subtree = r.Path();
        byte flags = r.U8();
        if ((flags & ~(HashesFlag | XattrsFlag)) != 0)
            ProtocolException.Throw($"invalid manifest request flags 0x{flags:x2}");
        return new ManifestRequest(subtree, (flags & HashesFlag) != 0, (flags & XattrsFlag) != 0);
    }
}

/// <summary>One entry of a manifest; <see cref="Hash"/> is XxHash128 of the content when requested;
/// <see cref="Xattrs"/> the entry's extended attributes when requested (null: not asked for, a symlink, or
/// they could not be read).</summary>
internal sealed record ManifestItem(FileEntry Entry, UInt128? Hash, IReadOnlyList<XattrDigest>? Xattrs = null);

internal sealed record ManifestBatch(IReadOnlyList<ManifestItem> Items) : Message
{
    public const int MaxItems = 4096;

    /// <summary>A batch is sent once its items take about this many bytes (or at <see cref="MaxItems"/>),
    /// well below <see cref="Frame.MaxBody"/>: long paths and many attributes must not make a frame the
    /// receiver refuses.</summary>
    public const int TargetBytes = 1 << 20;

    /// <summary>An upper bound of the bytes <paramref name="item"/> takes in a batch.</summary>
    public static int SizeOf(ManifestItem item)
    {
        int size = 64 + item.Entry.Path.Length + (item.Entry.LinkTarget?.Length ?? 0);
        if (item.Xattrs is { } xs)
        {
            foreach (var x in xs)
                size += 16 + x.Name.Length;
        }
        return size;
    }

    public override MessageType Type => MessageType.ManifestBatch;

    public override void Write(WireWriter w)
    {
        w.U32((uint)Items.Count);
        foreach (var item in Items)
        {
            var e = item.Entry;
            w.Path(e.Path);
            w.U8((byte)e.Kind);
            w.U32(e.Mode);
            w.U32(e.Uid);
            w.U32(e.Gid);
            w.I64(e.Size);
            w.I64(e.MtimeNs);
            w.U64(e.Inode);
            w.U32(e.LinkCount);
            w.I64(e.AllocatedBytes);
            w.Bytes(e.LinkTarget ?? []);
            w.Bool(item.Hash.HasValue);
            if (item.Hash is { } h)
                w.U128(h);
            WriteXattrs(w, item.Xattrs);
        }
    }

    public static ManifestBatch Read(ref WireReader r)
    {
        uint n = r.U32();
        if (n > MaxItems)
            ProtocolException.Throw($"manifest batch of {n} items exceeds {MaxItems}");
        var items = new ManifestItem[n];
        for (int i = 0; i < n; i++)
        {
            var path = r.Path();
            var kind = r.Enum<EntryKind>((byte)EntryKind.Symlink);
            uint mode = r.U32();
            uint uid = r.U32();
            uint gid = r.U32();
            long size = r.I64();
            long mtime = r.I64();
            ulong inode = r.U64();
            uint links = r.U32();
            long allocated = r.I64();
            var target = r.Bytes(RelPath.MaxLength).ToArray();
            UInt128? hash = r.Bool() ? r.U128() : null;
            var xattrs = ReadXattrs(ref r);
            items[i] = new ManifestItem(
                new FileEntry(path, kind, mode, uid, gid, size, mtime, kind == EntryKind.Symlink ? target : null, inode, 0, links, allocated),
                hash, xattrs);
        }
        return new ManifestBatch(items);
    }

    /// <summary><c>u16 count</c> (0xFFFF: none sent) then per attribute <c>bytes name | u64 xxh3 of the value</c>.
    /// Not limited to <see cref="XattrCodec.MaxCount"/>: a manifest reports what the target has, however many.</summary>
    private static void WriteXattrs(WireWriter w, IReadOnlyList<XattrDigest>? xattrs)
    {
        if (xattrs is null || xattrs.Count >= ushort.MaxValue)
        {
            w.U16(ushort.MaxValue);
            return;
        }
        w.U16((ushort)xattrs.Count);
        foreach (var x in xattrs)
        {
            w.Bytes(x.Name);
            w.U64(x.ValueHash);
        }
    }

    private static XattrDigest[]? ReadXattrs(ref WireReader r)
    {
        ushort n = r.U16();
        if (n == ushort.MaxValue)
            return null;
        var list = new XattrDigest[n];
        for (int i = 0; i < n; i++)
        {
            var name = r.Bytes(XattrCodec.MaxName).ToArray();
            if (name.Length == 0 || name.AsSpan().IndexOf((byte)0) >= 0)
                ProtocolException.Throw("invalid extended attribute name");
            list[i] = new XattrDigest(name, r.U64());
        }
        return list;
    }
}

internal sealed record ManifestEnd(long Count, string? Error) : Message
{
    public override MessageType Type => MessageType.ManifestEnd;

    public override void Write(WireWriter w)
    {
        w.I64(Count);
        w.String(Error ?? "");
    }

    public static ManifestEnd Read(ref WireReader r)
    {
        long count = r.I64();
        var err = r.String(8192);
        return new ManifestEnd(count, err.Length == 0 ? null : err);
    }
}
