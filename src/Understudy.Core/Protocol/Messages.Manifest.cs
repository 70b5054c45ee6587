using Understudy.Core.Manifest;
using Understudy.Core.Paths;

namespace Understudy.Core.Protocol;

/// <summary>Source → target: list the target tree (below <see cref="Subtree"/>), with content hashes when asked.</summary>
internal sealed record ManifestRequest(RelPath Subtree, bool WithHashes) : Message
{
    public override MessageType Type => MessageType.ManifestRequest;

    public override void Write(WireWriter w)
    {
        w.Path(Subtree);
        w.Bool(WithHashes);
    }

    public static ManifestRequest Read(ref WireReader r) => new(r.Path(), r.Bool());
}

/// <summary>One entry of a manifest; <see cref="Hash"/> is XxHash128 of the content when requested.</summary>
internal sealed record ManifestItem(FileEntry Entry, UInt128? Hash);

internal sealed record ManifestBatch(IReadOnlyList<ManifestItem> Items) : Message
{
    public const int MaxItems = 4096;

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
            w.Bytes(e.LinkTarget ?? []);
            w.Bool(item.Hash.HasValue);
            if (item.Hash is { } h)
                w.U128(h);
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
            var target = r.Bytes(RelPath.MaxLength).ToArray();
            UInt128? hash = r.Bool() ? r.U128() : null;
            items[i] = new ManifestItem(
                new FileEntry(path, kind, mode, uid, gid, size, mtime, kind == EntryKind.Symlink ? target : null, inode, 0, links),
                hash);
        }
        return new ManifestBatch(items);
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
