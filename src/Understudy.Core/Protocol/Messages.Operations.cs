using Understudy.Core.Paths;
using Understudy.Core.Posix;

namespace Understudy.Core.Protocol;

internal sealed record MakeDirectory(RelPath Path, EntryMeta Meta, IReadOnlyList<Xattr>? Xattrs) : Message
{
    public override MessageType Type => MessageType.MakeDirectory;

    public override void Write(WireWriter w)
    {
        w.Path(Path);
        Meta.Write(w);
        XattrCodec.Write(w, Xattrs);
    }

    public static MakeDirectory Read(ref WireReader r) => new(r.Path(), EntryMeta.Read(ref r), XattrCodec.Read(ref r));
}

/// <summary>
/// Starts a file of <see cref="Size"/> bytes. <see cref="Inline"/> carries the whole content
/// of a small file (then no FileData/FileEnd follow); otherwise FileData chunks at offsets
/// follow, then FileEnd. Ranges never sent are holes (sparse files keep their holes).
/// </summary>
internal sealed record FileBegin(RelPath Path, long Size, EntryMeta Meta, IReadOnlyList<Xattr>? Xattrs, bool Complete, ReadOnlyMemory<byte> Inline) : Message
{
    public override MessageType Type => MessageType.FileBegin;

    /// <summary>Send side: the inline data read from the open file as the frame is written, instead of <see cref="Inline"/>.</summary>
    public FileContent? Content { get; init; }

    public override void Write(WireWriter w)
    {
        w.Path(Path);
        w.I64(Size);
        Meta.Write(w);
        XattrCodec.Write(w, Xattrs);
        w.Bool(Complete);
        if (Content is { } c)
            w.Content(c);
        else
            w.Bytes(Inline.Span);
    }

    // Path, size, metadata and a few small xattrs; more xattrs only fall back to a staged copy.
    public override int BodySizeHint => 4 + Path.Bytes.Length + 8 + 64 + 1024 + 1 + 4 + (Content?.Length ?? Inline.Length);

    public static FileBegin Read(ref WireReader r, ReadOnlyMemory<byte> body)
    {
        var path = r.Path();
        long size = r.I64();
        if (size < 0)
            ProtocolException.Throw("negative file size");
        var meta = EntryMeta.Read(ref r);
        var x = XattrCodec.Read(ref r);
        bool complete = r.Bool();
        int before = body.Length - r.Remaining;
        var inline = r.Bytes(Frame.DataChunk);
        if (complete && inline.Length != size)
            ProtocolException.Throw("complete file whose inline data does not match its size");
        return new FileBegin(path, size, meta, x, complete, body.Slice(before + 4, inline.Length));
    }
}

/// <summary>A chunk of the current file's content at <see cref="Offset"/>. <see cref="Data"/> borrows the frame buffer.</summary>
internal sealed record FileData(long Offset, ReadOnlyMemory<byte> Data) : Message
{
    public override MessageType Type => MessageType.FileData;

    /// <summary>Send side: the data read from the open file as the frame is written, instead of <see cref="Data"/>.</summary>
    public FileContent? Content { get; init; }

    public override void Write(WireWriter w)
    {
        w.I64(Offset);
        if (Content is { } c)
            w.Content(c);
        else
            w.Bytes(Data.Span);
    }

    public override int BodySizeHint => 8 + 4 + (Content?.Length ?? Data.Length);

    public static FileData Read(ref WireReader r, ReadOnlyMemory<byte> body)
    {
        long offset = r.I64();
        if (offset < 0)
            ProtocolException.Throw("negative file offset");
        var data = r.Bytes(Frame.DataChunk);
        return new FileData(offset, body.Slice(12, data.Length));
    }
}

/// <summary>The current file is complete: the target may rename it into place once durable.
/// With <see cref="Abort"/> the source could not finish reading it: the target drops the temp file.</summary>
internal sealed record FileEnd(bool Abort = false) : Message
{
    public override MessageType Type => MessageType.FileEnd;

    public override void Write(WireWriter w) => w.Bool(Abort);
}

internal sealed record SymlinkOp(RelPath Path, byte[] Target, EntryMeta Meta) : Message
{
    public override MessageType Type => MessageType.Symlink;

    public override void Write(WireWriter w)
    {
        w.Path(Path);
        w.Bytes(Target);
        Meta.Write(w);
    }

    public static SymlinkOp Read(ref WireReader r)
    {
        var path = r.Path();
        var target = r.Bytes(RelPath.MaxLength).ToArray();
        if (target.Length == 0 || target.AsSpan().IndexOf((byte)0) >= 0)
            ProtocolException.Throw("invalid symlink target");
        return new SymlinkOp(path, target, EntryMeta.Read(ref r));
    }
}

internal sealed record HardLinkOp(RelPath Path, RelPath Existing) : Message
{
    public override MessageType Type => MessageType.HardLink;

    public override void Write(WireWriter w)
    {
        w.Path(Path);
        w.Path(Existing);
    }

    public static HardLinkOp Read(ref WireReader r) => new(r.Path(), r.Path());
}

internal sealed record DeleteOp(RelPath Path) : Message
{
    public override MessageType Type => MessageType.Delete;

    public override void Write(WireWriter w) => w.Path(Path);

    public static DeleteOp Read(ref WireReader r)
    {
        var p = r.Path();
        if (p.IsRoot)
            ProtocolException.Throw("delete of the job root");
        return new DeleteOp(p);
    }
}

internal sealed record SetMetadataOp(RelPath Path, EntryMeta Meta, IReadOnlyList<Xattr>? Xattrs) : Message
{
    public override MessageType Type => MessageType.SetMetadata;

    public override void Write(WireWriter w)
    {
        w.Path(Path);
        Meta.Write(w);
        XattrCodec.Write(w, Xattrs);
    }

    public static SetMetadataOp Read(ref WireReader r) => new(r.Path(), EntryMeta.Read(ref r), XattrCodec.Read(ref r));
}

internal sealed record RenameOp(RelPath From, RelPath To) : Message
{
    public override MessageType Type => MessageType.Rename;

    public override void Write(WireWriter w)
    {
        w.Path(From);
        w.Path(To);
    }

    public static RenameOp Read(ref WireReader r)
    {
        var from = r.Path();
        var to = r.Path();
        if (from.IsRoot || to.IsRoot || to.IsUnder(from))
            ProtocolException.Throw("rename of or into the job root, or into itself");
        return new RenameOp(from, to);
    }
}

/// <summary>Source → target: send the block signature of your copy of <see cref="Path"/>.</summary>
internal sealed record SignatureRequest(RelPath Path) : Message
{
    public override MessageType Type => MessageType.SignatureRequest;

    public override void Write(WireWriter w) => w.Path(Path);

    public static SignatureRequest Read(ref WireReader r) => new(r.Path());
}

/// <summary>
/// Target → source: one piece of the serialized block signature; empty when there is no basis file.
/// A signature can outgrow one frame (above ~26 GiB of file), so it travels as consecutive
/// replies for the same path, each with at most <see cref="Frame.DataChunk"/> bytes, all but the
/// last with <see cref="More"/> set (see <see cref="SignatureChunks"/>).
/// </summary>
internal sealed record SignatureReply(RelPath Path, ReadOnlyMemory<byte> Data, bool More = false) : Message
{
    public override MessageType Type => MessageType.Signature;

    public override void Write(WireWriter w)
    {
        w.Path(Path);
        w.Bytes(Data.Span);
        w.Bool(More);
    }

    // A peer that predates the flag sends no byte after the data: the whole signature in one frame.
    public static SignatureReply Read(ref WireReader r) =>
        new(r.Path(), r.Bytes(Frame.MaxBody).ToArray(), r.Remaining > 0 && r.Bool());
}

/// <summary>Starts rebuilding <see cref="Path"/> from the target's current copy plus DeltaData instructions, ended by FileEnd.</summary>
internal sealed record DeltaBegin(RelPath Path, long Size, EntryMeta Meta, IReadOnlyList<Xattr>? Xattrs) : Message
{
    public override MessageType Type => MessageType.DeltaBegin;

    public override void Write(WireWriter w)
    {
        w.Path(Path);
        w.I64(Size);
        Meta.Write(w);
        XattrCodec.Write(w, Xattrs);
    }

    public static DeltaBegin Read(ref WireReader r)
    {
        var path = r.Path();
        long size = r.I64();
        if (size < 0)
            ProtocolException.Throw("negative file size");
        return new DeltaBegin(path, size, EntryMeta.Read(ref r), XattrCodec.Read(ref r));
    }
}

/// <summary>Encoded delta instructions (see Delta/); borrows the frame buffer.</summary>
internal sealed record DeltaData(ReadOnlyMemory<byte> Instructions) : Message
{
    public override MessageType Type => MessageType.DeltaData;

    public override void Write(WireWriter w) => w.Bytes(Instructions.Span);

    public override int BodySizeHint => 4 + Instructions.Length;

    public static DeltaData Read(ref WireReader r, ReadOnlyMemory<byte> body)
    {
        var data = r.Bytes(Frame.MaxBody);
        return new DeltaData(body.Slice(4, data.Length));
    }
}
