using System.Buffers;
using System.Threading.Channels;
using Understudy.Core.Delta;
using Understudy.Core.Manifest;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Source;

internal sealed partial class MirrorEngine
{
    /// <summary>Files up to this size travel in one frame with their metadata.</summary>
    private const int InlineLimit = 256 * 1024;

    /// <summary>Data per FileData frame: a frame with its header then fits in a 1 MiB buffer on both
    /// sides (the send pipe's segments, the target's received body) instead of the pool's next size,
    /// 2 MiB; a multiple of 4 KiB, so the target's O_DIRECT writes stay aligned.</summary>
    internal const int SendChunk = Frame.DataChunk - 4096;

    /// <summary>A changed file at least this big that the target has a copy of goes as a block delta
    /// (<see cref="SendDeltaAsync"/>) in difference mode and in replication: below it, the target's
    /// signature and the second read cost more than sending the file whole.</summary>
    public const long DeltaMinSize = 1L << 20;

    /// <summary>One read buffer for the whole mirror, for a file that shrank while it was sent (content is
    /// otherwise read straight into the frame, <see cref="FileContent"/>): sends are sequential and each
    /// frame is copied out before SendAsync returns. Renting 1 MiB per file from the shared pool, returned on
    /// another thread after each await, filled the pool's per-thread and per-core caches
    /// (source agent peak RSS up to ~208 MB on 50,000 files).</summary>
    private byte[]? _readBuffer;

    private byte[] ReadBuffer => _readBuffer ??= new byte[Frame.DataChunk];

    private async Task ExecuteAsync(PlanItem item, CancellationToken ct)
    {
        var tree = _trees[item.Root];
        var e = item.Source;
        if (events.Trace.On)
        {
            events.Trace.Write(job.Name, $"mirror {item.Kind} {item.TargetPath}{(item.LinkTo.IsRoot ? "" : $" = {item.LinkTo}")}"
                + (e is { } f ? $" (inode {f.Inode}, size {f.Size}, links {f.LinkCount}, mtime {f.MtimeNs})" : ""));
        }
        switch (item.Kind)
        {
            case PlanKind.Delete:
                await session.SendAsync(new DeleteOp(item.TargetPath), ct);
                break;
            case PlanKind.DeleteOrphan:
                if (!SourceHasNow(item.TargetPath))
                    await session.SendAsync(new DeleteOp(item.TargetPath), ct);
                break;
            case PlanKind.MakeDirectory:
                await session.SendAsync(new MakeDirectory(item.TargetPath, EntryMeta.From(e!), ReadXattrs(tree, e!.Path, item.TargetPath)), ct);
                break;
            case PlanKind.Symlink:
                await session.SendAsync(new SymlinkOp(item.TargetPath, e!.LinkTarget!, EntryMeta.From(e)), ct);
                break;
            case PlanKind.HardLink:
                await LinkAsync(tree, e!, item.TargetPath, item.LinkTo, ct);
                break;
            case PlanKind.SetMetadata:
                await session.SendAsync(new SetMetadataOp(item.TargetPath, EntryMeta.From(e!),
                    e!.Kind == EntryKind.Symlink ? null : ReadXattrs(tree, e.Path, item.TargetPath)), ct);
                break;
            case PlanKind.SendFile:
                await SendFileAsync(tree, e!, item.TargetPath, ct);
                break;
            case PlanKind.Move:
                await session.SendAsync(new RenameOp(item.LinkTo, item.TargetPath), ct);
                await session.SendAsync(new SetMetadataOp(item.TargetPath, EntryMeta.From(e!), ReadXattrs(tree, e!.Path, item.TargetPath)), ct);
                break;
            case PlanKind.DeltaFile:
                await SendDeltaAsync(tree, e!, item.TargetPath, ct);
                break;
        }
    }

    /// <summary>
    /// The source has an (included) entry at this target path now, though the walk did not see one: it was renamed
    /// there or made while the mirror ran. Its target copy stays; the replication queue (a catch-up mirror's case)
    /// carries the change that brought it back.
    /// </summary>
    private bool SourceHasNow(RelPath targetPath)
    {
        for (int r = 0; r < _trees.Length; r++)
        {
            var prefix = job.Roots[r].TargetPrefix;
            if (_trees[r] is not { } tree || !targetPath.IsUnder(prefix) || targetPath == prefix)
                continue;
            var path = targetPath.Rebase(prefix, RelPath.Root);
            if (tree.Lstat(path) is { Kind: { } kind } && !job.IsExcluded(path, kind == EntryKind.Directory))
                return true;
        }
        return false;
    }

    /// <summary>The entry's extended attributes to send with it as <paramref name="targetPath"/>; null (the target leaves
    /// its own alone) when they cannot be read or the target cannot take them (<see cref="ReceiverLimits.XattrProblem"/>:
    /// the entry goes without them and is listed as not protected).</summary>
    internal IReadOnlyList<Xattr>? ReadXattrs(FsTree tree, RelPath path, RelPath targetPath)
    {
        try
        {
            return Checked(path.IsRoot && tree.Lstat(path) is null ? null : tree.ReadXattrs(path), targetPath);
        }
        catch (PosixException)
        {
            return null;
        }
    }

    /// <summary>Through the open file: saves resolving the path a second time for every file sent.</summary>
    private IReadOnlyList<Xattr>? ReadXattrs(FileReader reader, RelPath targetPath)
    {
        try
        {
            return Checked(reader.ReadXattrs(), targetPath);
        }
        catch (PosixException)
        {
            return null;
        }
    }

    private IReadOnlyList<Xattr>? Checked(IReadOnlyList<Xattr>? xattrs, RelPath targetPath)
    {
        if (ReceiverLimits.XattrProblem(xattrs) is not { } why)
        {
            job.Unprotected.Remove(targetPath);
            return xattrs;
        }
        NoteUnprotected(targetPath, why);
        return null;
    }

    internal async Task SendFileAsync(FsTree tree, FileEntry e, RelPath tp, CancellationToken ct)
    {
        if (OpenOrReport(tree, e, tp) is not { } reader)
            return;
        using (reader)
        {
            // Another file renamed onto the name since the walk: its content goes (the name holds it now), but the walked
            // file's other names must not be linked to it (convergence seed 600300002: a hard link's second name was
            // linked on the target to the content of the file renamed over the first).
            if (e.Inode != 0 && reader.Stat.Inode != e.Inode)
                _vanishedSends.Add(tp);
            var meta = MetaAsOpened(e, reader);
            long size = reader.Stat.Size;
            var xattrs = ReadXattrs(reader, tp);
            if (size <= InlineLimit)
            {
                var whole = new FileBegin(tp, size, meta, xattrs, true, default) { Content = new(reader, 0, (int)size) };
                if (!await TrySendContentAsync(whole, ct))
                {
                    var buf = ReadBuffer;
                    int n = ReadFully(reader, buf.AsSpan(0, (int)size), 0);
                    await session.SendAsync(whole with { Size = n, Inline = buf.AsMemory(0, n), Content = null }, ct);
                }
            }
            else
            {
                await session.SendAsync(new FileBegin(tp, size, meta, xattrs, false, ReadOnlyMemory<byte>.Empty), ct);
                bool ok = true;
                try
                {
                    foreach (var (off, len) in reader.DataExtents())
                    {
                        long end = Math.Min(off + len, size);
                        for (long pos = off; pos < end;)
                        {
                            int n = (int)Math.Min(SendChunk, end - pos);
                            if (!await TrySendContentAsync(new FileData(pos, default) { Content = new(reader, pos, n) }, ct))
                            {
                                var buf = ReadBuffer;
                                n = ReadFully(reader, buf.AsSpan(0, n), pos);
                                if (n == 0)
                                    break;
                                await session.SendAsync(new FileData(pos, buf.AsMemory(0, n)), ct);
                            }
                            progress.AddBytes(n);
                            pos += n;
                        }
                    }
                }
                catch (PosixException ex)
                {
                    ok = false;
                    ReportSkip(e.Path, ex.Message);
                }
                await session.SendAsync(new FileEnd(Abort: !ok), ct);
                if (!ok)
                    return;
            }
            if (size <= InlineLimit)
                progress.AddBytes(size);
            progress.AddFile();
        }
    }

    /// <summary>The walked file opened for its content; null, reported, when it cannot be: gone since the walk (noted as
    /// vanished, <see cref="NoteVanished"/>) or unreadable. Whole sends and deltas open it alike.</summary>
    private FileReader? OpenOrReport(FsTree tree, FileEntry e, RelPath tp)
    {
        try
        {
            return tree.OpenRead(e.Path);
        }
        catch (PosixException ex)
        {
            if (ex.IsNotFound)
                NoteVanished(tp);
            ReportVanishedOrSkip(e.Path, ex);
            return null;
        }
    }

    /// <summary>The walk's metadata with the mtime and mode of the file as it was opened (the content sent is that file's).</summary>
    private static EntryMeta MetaAsOpened(FileEntry e, FileReader reader) =>
        EntryMeta.From(e) with { MtimeNs = reader.Stat.MtimeNs, Mode = reader.Stat.Mode };

    /// <summary>Sends a frame whose data is read from the file as it is framed (<see cref="FileContent"/>).
    /// False when the file turned out shorter: nothing was sent, and the caller sends what is there.</summary>
    private async ValueTask<bool> TrySendContentAsync(Message m, CancellationToken ct)
    {
        try
        {
            await session.SendAsync(m, ct);
            return true;
        }
        catch (FileShrankException)
        {
            return false;
        }
    }

    private static int ReadFully(FileReader reader, Span<byte> buf, long offset)
    {
        int total = 0;
        while (total < buf.Length)
        {
            int n = reader.Read(buf[total..], offset + total);
            if (n == 0)
                break;
            total += n;
        }
        return total;
    }

    /// <summary>Checksum mode: fetch the target's block signature and send only what differs.</summary>
    internal async Task SendDeltaAsync(FsTree tree, FileEntry e, RelPath tp, CancellationToken ct)
    {
        var sigBytes = await session.GetSignatureAsync(tp, ct);
        if (sigBytes.Length == 0 || !FileSignature.TryParse(new ReadOnlySequence<byte>(sigBytes), out var sig) || sig is null)
        {
            await SendFileAsync(tree, e, tp, ct);
            return;
        }
        if (OpenOrReport(tree, e, tp) is not { } reader)
            return;
        using (reader)
        {
            long size = reader.Stat.Size;
            var meta = MetaAsOpened(e, reader);
            await session.SendAsync(new DeltaBegin(tp, size, meta, ReadXattrs(reader, tp)), ct);
            var chunks = Channel.CreateBounded<byte[]>(4);
            var producer = Task.Factory.StartNew(() =>
            {
                try
                {
                    var sink = new ChunkingDeltaSink(chunk =>
                    {
                        while (!chunks.Writer.TryWrite(chunk))
                            chunks.Writer.WaitToWriteAsync(ct).AsTask().GetAwaiter().GetResult();
                    });
                    DeltaGenerator.Generate(sig, (b, off) => reader.Read(b, off), Holes(reader, size), sink, ct);
                    chunks.Writer.TryComplete();
                }
                catch (Exception ex)
                {
                    chunks.Writer.TryComplete(ex);
                }
            }, ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            bool ok = true;
            try
            {
                await foreach (var chunk in chunks.Reader.ReadAllAsync(ct))
                    await session.SendAsync(new DeltaData(chunk), ct);
            }
            catch (PosixException ex)
            {
                ok = false;
                ReportSkip(e.Path, ex.Message);
            }
            await producer;
            await session.SendAsync(new FileEnd(Abort: !ok), ct);
            if (ok)
            {
                progress.AddBytes(size);
                progress.AddFile();
            }
        }
    }

    /// <summary>
    /// The file's holes (SEEK_HOLE), so that the delta skips them and the target leaves them unwritten: a file grown
    /// by truncate(1), or a sparse image changed in place, keeps its holes as a whole send by data extents does. Read
    /// when the file is opened: a hole filled after that goes as a hole this time, and the write that filled it is
    /// its own captured change, sent after this one.
    /// </summary>
    private static List<(long Offset, long Length)> Holes(FileReader reader, long size)
    {
        var holes = new List<(long, long)>();
        IReadOnlyList<(long Offset, long Length)> data;
        try
        {
            data = reader.DataExtents();
        }
        catch (PosixException)
        {
            return holes; // read it all as data: the copy is right, only not sparse
        }
        long pos = 0;
        foreach (var (off, len) in data)
        {
            if (off > pos)
                holes.Add((pos, Math.Min(off, size) - pos));
            pos = Math.Max(pos, off + len);
        }
        if (pos < size)
            holes.Add((pos, size - pos));
        return holes;
    }

    /// <summary>Encodes delta instructions and hands them on in chunks of about 1 MiB (one frame each).</summary>
    private sealed class ChunkingDeltaSink(Action<byte[]> emit) : IDeltaSink
    {
        private readonly ArrayBufferWriter<byte> _buf = new(Frame.DataChunk + 128 * 1024);

        public void Copy(long blockIndex, int blockCount)
        {
            DeltaInstruction.Copy(blockIndex, blockCount).Encode(_buf);
            MaybeEmit();
        }

        public void Literal(ReadOnlySpan<byte> data)
        {
            DeltaInstruction.LiteralOf(data).Encode(_buf);
            MaybeEmit();
        }

        public void Hole(long length)
        {
            DeltaInstruction.HoleOf(length).Encode(_buf);
            MaybeEmit();
        }

        public void Complete()
        {
            DeltaInstruction.Complete().Encode(_buf);
            Emit();
        }

        private void MaybeEmit()
        {
            if (_buf.WrittenCount >= Frame.DataChunk)
                Emit();
        }

        private void Emit()
        {
            emit(_buf.WrittenSpan.ToArray());
            _buf.ResetWrittenCount();
        }
    }
}
