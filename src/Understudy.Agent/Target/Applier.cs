using Understudy.Core.Delta;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Understudy.Core.Protocol;

namespace Understudy.Agent.Target;

/// <summary>
/// Applies operations to a job's target tree, in the order received, through <see cref="FsTree"/>
/// (the path guard). Files are written under temporary names (or none: small files are created
/// with O_TMPFILE, see <see cref="FsTree.CreateTemp"/>) and renamed or linked into place only once
/// durable; small files that arrived whole are written on worker threads (<see cref="WriteAside"/>)
/// and taken back in order before anything else is applied. Durability is batched: completed
/// files wait in <see cref="_pending"/> until a batch fills, then one syncfs makes all of them
/// durable before any is renamed; a barrier adds a second syncfs so the renames themselves are
/// durable before the source is acknowledged.
/// A full batch is flushed (syncfs, then renames) on a background task while the next batch is
/// written, so the disk works while data keeps arriving; at most one batch is in flight and
/// batches are renamed in order. Any operation that touches a pending or in-flight path waits
/// for it first, so order is preserved.
/// </summary>
internal sealed class Applier(FsTree tree) : IDisposable
{
    private const int BatchFiles = 512;
    private const long BatchBytes = 128L * 1024 * 1024;

    /// <summary>A big file's buffered data (a delta, or a file system without O_DIRECT) is handed to
    /// writeback (sync_file_range) every this many bytes and when it completes, so the disk writes
    /// while data still arrives and the batch's syncfs has little left to do. Left to the kernel,
    /// writeback of a mirror's data started only at the dirty threshold (10 % of memory) or at the
    /// syncfs. Small files are left to the batch's syncfs, which writes them back in one pass: one
    /// sync_file_range per small file cost ~9 % of the target's CPU on 50,000 files.</summary>
    private const long WritebackChunk = 8L * 1024 * 1024;

    /// <summary>Files at least this big (sent in data frames, not inline) are written with O_DIRECT:
    /// from the applier's aligned buffer straight to the device. Buffered, every byte was first copied
    /// into freshly allocated page-cache pages (on this project's VM slower than the disk itself: 2 GiB
    /// took 7–8 s buffered + fdatasync, 1.7–3.1 s direct), and a mirror filled the target's memory with
    /// pages of a replica nobody reads. Smaller files stay buffered: one synchronous device write
    /// each would cost more than the copy.</summary>
    internal const long DirectIoMinSize = 1024 * 1024;

    private const int DirectBufferSize = 4 * 1024 * 1024;

    private AlignedBuffer? _directBuffer;

    /// <summary>Worker threads for whole small files (<see cref="ParallelWrites"/>): two measured
    /// best on this project's 2-core VM, where the source agent shares the CPU.</summary>
    internal const int WriteWorkers = 2;

    private ParallelWrites? _aside;

    private readonly List<TempFile> _pending = [];
    private PendingPaths _pendingPaths = new();
    private long _pendingBytes;
    private InFlight? _current;
    private Task _flushing = Task.CompletedTask;
    private PendingPaths _flushingPaths = new();

    // Anything applied since the last syncfs? True at first: an earlier session may have left
    // work that is not durable yet. Lets a barrier after a no-change mirror skip the syncfs.
    private bool _dirty = true;

    public long FilesApplied { get; private set; }

    public long BytesApplied { get; private set; }

    public FsTree Tree => tree;

    private sealed class InFlight(TempFile temp, long size, EntryMeta meta, IReadOnlyList<Xattr>? xattrs)
    {
        public TempFile Temp { get; } = temp;
        public long Size { get; } = size;
        public EntryMeta Meta { get; } = meta;
        public IReadOnlyList<Xattr>? Xattrs { get; } = xattrs;
        public FileReader? Basis { get; init; }
        public DeltaApplier? Delta { get; init; }

        /// <summary>Bytes written since writeback was last started, and where that range begins.</summary>
        public long Unsubmitted { get; set; }
        public long UnsubmittedFrom { get; set; }

        public void Wrote(long offset, int length)
        {
            if (Temp.DirectIo)
                return;
            if (Unsubmitted == 0)
                UnsubmittedFrom = offset;
            Unsubmitted += length;
            if (Unsubmitted < WritebackChunk || offset < UnsubmittedFrom)
                return;
            Temp.StartWriteback(UnsubmittedFrom, offset + length - UnsubmittedFrom);
            Unsubmitted = 0;
        }
    }

    public void MakeDirectory(MakeDirectory m)
    {
        FlushIfTouches(m.Path);
        tree.EnsureDirectory(m.Path, m.Meta.Mode);
        SetMeta(m.Path, m.Meta, m.Xattrs);
    }

    public void BeginFile(FileBegin m)
    {
        EnsureNoFileInFlight();
        FlushIfTouches(m.Path);
        var temp = tree.CreateTemp(m.Path, m.Meta.Mode, unnamed: m.Complete);
        try
        {
            if (!m.Complete || m.Inline.Length != m.Size) // a whole file in one frame gets its size from the write
                temp.SetLength(m.Size);
            if (!m.Complete)
                UseDirectIoIfBig(temp, m.Size);
            _current = new InFlight(temp, m.Size, m.Meta, m.Xattrs);
            if (!m.Inline.IsEmpty)
                Write(m.Inline.Span, 0);
        }
        catch
        {
            _current = null;
            temp.Dispose();
            throw;
        }
        if (m.Complete)
            FinishFile();
    }

    /// <summary>Can <paramref name="m"/> be written on a worker thread (<see cref="WriteAside"/>)? It must have
    /// arrived whole in one frame and not touch a file still being written that way. Changes nothing.</summary>
    public bool CanWriteAside(FileBegin m) =>
        m.Complete && m.Inline.Length == m.Size && _current is null && _aside?.Touches(m.Path) != true;

    /// <summary>
    /// Writes a file that <see cref="CanWriteAside"/> accepted on a worker thread; <paramref name="frame"/>
    /// (its data) now belongs to the applier, which disposes it once the file is written or dropped.
    /// Files written meanwhile are taken back in order and join the batch; those that failed are
    /// added to <paramref name="failed"/> for the caller to apply with <see cref="BeginFile"/> (and
    /// to dispose), so each failure is reported as that operation's own.
    /// </summary>
    public void WriteAside(FileBegin m, IDisposable frame, List<ParallelWrites.Item> failed)
    {
        try
        {
            FlushPendingIfTouches(m.Path);
            _aside ??= new ParallelWrites(tree, WriteWorkers);
        }
        catch
        {
            frame.Dispose();
            throw;
        }
        _aside.Submit(m, frame);
        TakeAside(all: false, failed);
    }

    /// <summary>Takes back the files written aside: those done (all of them with <paramref name="all"/>,
    /// and at least enough to make room otherwise). Written ones join the batch; failed ones go to <paramref name="failed"/>.</summary>
    public void TakeAside(bool all, List<ParallelWrites.Item> failed)
    {
        if (_aside is null)
            return;
        while (_aside.TryTake(wait: all || _aside.IsFull, out var item))
        {
            if (item.Temp is { } temp)
            {
                item.Owner.Dispose();
                BytesApplied += item.Op.Size;
                _pendingBytes += item.Op.Size;
                AddPending(temp);
            }
            else
            {
                failed.Add(item);
            }
        }
    }

    /// <summary>Are files being written aside (see <see cref="WriteAside"/>)?</summary>
    public bool WritingAside => _aside is { Count: > 0 };

    /// <summary>A file of <see cref="DirectIoMinSize"/> or more is written through the applier's one aligned buffer.</summary>
    private void UseDirectIoIfBig(TempFile temp, long size)
    {
        if (size >= DirectIoMinSize)
            temp.TryUseDirectIo(_directBuffer ??= new AlignedBuffer(DirectBufferSize), size);
    }

    public void Data(FileData d)
    {
        if (_current is null || _current.Delta is not null)
            throw new ProtocolException("file data without a file in flight");
        Write(d.Data.Span, d.Offset);
    }

    private void Write(ReadOnlySpan<byte> data, long offset)
    {
        if (offset + data.Length > _current!.Size)
            throw new ProtocolException("file data beyond the announced size");
        _current.Temp.Write(data, offset);
        _current.Wrote(offset, data.Length);
        BytesApplied += data.Length;
        _pendingBytes += data.Length;
    }

    public void BeginDelta(DeltaBegin m)
    {
        EnsureNoFileInFlight();
        FlushIfTouches(m.Path);
        FileReader? basis = tree.Lstat(m.Path) is { Kind: Core.Manifest.EntryKind.File } ? tree.OpenRead(m.Path) : null;
        TempFile temp;
        try
        {
            temp = tree.CreateTemp(m.Path);
        }
        catch
        {
            basis?.Dispose();
            throw;
        }
        try
        {
            temp.SetLength(m.Size);
            UseDirectIoIfBig(temp, m.Size); // the delta rebuilds the file front to back
            long basisLength = basis?.Stat.Size ?? 0;
            var applier = new DeltaApplier(
                BlockSizing.For(basisLength),
                basisLength,
                (buf, off) => basis is null ? 0 : basis.Read(buf, off),
                (data, off) =>
                {
                    if (off + data.Length > m.Size)
                        throw new ProtocolException("delta writes beyond the announced size");
                    temp.Write(data, off);
                    _current?.Wrote(off, data.Length);
                    BytesApplied += data.Length;
                    _pendingBytes += data.Length;
                });
            _current = new InFlight(temp, m.Size, m.Meta, m.Xattrs) { Basis = basis, Delta = applier };
        }
        catch
        {
            temp.Dispose();
            basis?.Dispose();
            throw;
        }
    }

    public void DeltaData(DeltaData d)
    {
        if (_current?.Delta is not { } delta)
            throw new ProtocolException("delta data without a delta in flight");
        try
        {
            if (DeltaEncoder.DecodeInto(d.Instructions.Span, delta) != d.Instructions.Length)
                throw new ProtocolException("delta frame ends inside an instruction");
        }
        catch (InvalidDeltaException e)
        {
            throw new ProtocolException($"bad delta: {e.Message}");
        }
    }

    public void EndFile(FileEnd e)
    {
        if (_current is null)
            throw new ProtocolException("file end without a file in flight");
        if (e.Abort)
        {
            DropCurrent();
            return;
        }
        FinishFile();
    }

    private void FinishFile()
    {
        var f = _current!;
        _current = null;
        try
        {
            if (f.Delta is { IsComplete: false })
                throw new ProtocolException("delta ended without its completion instruction");
            if (f.Delta is { } d && d.BytesWritten > f.Size)
                throw new ProtocolException("delta holes beyond the announced size"); // its writes are checked as they come
            f.Basis?.Dispose();
            f.Temp.CompleteWrites();
            if (f.Size >= DirectIoMinSize)
                f.Temp.StartWriteback(0, 0);
            f.Temp.SetMetadata(f.Meta.Mode, f.Meta.Uid, f.Meta.Gid, f.Meta.MtimeNs, f.Xattrs);
        }
        catch
        {
            f.Temp.Dispose();
            throw;
        }
        AddPending(f.Temp);
    }

    /// <summary>A complete file joins the batch; a full batch is flushed.</summary>
    private void AddPending(TempFile temp)
    {
        _pending.Add(temp);
        _pendingPaths.Add(temp.FinalPath);
        FilesApplied++;
        if (_pending.Count >= BatchFiles || _pendingBytes >= BatchBytes)
            FlushBatch();
    }

    private void DropCurrent()
    {
        _current?.Basis?.Dispose();
        _current?.Temp.Dispose();
        _current = null;
    }

    private void EnsureNoFileInFlight()
    {
        if (_current is not null)
            throw new ProtocolException("a new file started before the previous one ended");
    }

    public void Symlink(SymlinkOp m)
    {
        FlushIfTouches(m.Path);
        tree.Symlink(m.Path, m.Target);
        tree.SetMetadata(m.Path, 0, m.Meta.Uid, m.Meta.Gid, m.Meta.MtimeNs, null);
    }

    public void HardLink(HardLinkOp m)
    {
        FlushIfTouches(m.Path);
        FlushIfTouches(m.Existing);
        tree.HardLink(m.Existing, m.Path);
    }

    public void Delete(DeleteOp m)
    {
        FlushIfTouches(m.Path);
        tree.Remove(m.Path);
    }

    public void SetMetadata(SetMetadataOp m)
    {
        FlushIfTouches(m.Path);
        SetMeta(m.Path, m.Meta, m.Xattrs);
    }

    private void SetMeta(RelPath path, EntryMeta meta, IReadOnlyList<Xattr>? xattrs) =>
        tree.SetMetadata(path, meta.Mode, meta.Uid, meta.Gid, meta.MtimeNs, xattrs);

    /// <summary>The last <see cref="Rename"/> removed what was at the new name (maybe sent ahead): the caller asks for a resync.</summary>
    public bool RenameClearedItsDestination { get; private set; }

    public void Rename(RenameOp m)
    {
        RenameClearedItsDestination = false;
        FlushIfTouches(m.From);
        FlushIfTouches(m.To);
        try
        {
            tree.Rename(m.From, m.To);
        }
        catch (PosixException e) when (e.Errno is Libc.ENOTEMPTY or Libc.EEXIST or Libc.EISDIR or Libc.ENOTDIR
            && !m.From.IsUnder(m.To) && tree.Lstat(m.From) is not null && tree.Lstat(m.To) is not null)
        {
            // The source's rename succeeded, so what it replaced was an empty directory or a file (or nothing): what the
            // target holds at the new name is debris of changes it never got in a form it could apply — the removal of a
            // directory's last entries reported through a handle of that directory, which the rename itself deleted,
            // or content a sender read ahead of the queue. Applied in order, nothing below the new name may survive the
            // rename, so it goes, and the rename is applied as it was made (test DirectoryRenamedOntoAnEmptyDirectory).
            tree.Remove(m.To);
            tree.Rename(m.From, m.To);
            RenameClearedItsDestination = true;
        }
        // rename(2) does nothing when both names are links to one file; on the source the old name is gone.
        if (tree.Lstat(m.From) is { } left && tree.Lstat(m.To) is { } st && (left.Device, left.Inode) == (st.Device, st.Inode))
            tree.Remove(m.From);
    }

    /// <summary>Makes everything applied so far durable: data, then the renames that publish it.</summary>
    public void Barrier()
    {
        if (_current is not null)
            throw new ProtocolException("barrier in the middle of a file");
        RequireNothingAside();
        FlushBatch();
        WaitForFlush();
        if (!_dirty)
            return;
        tree.SyncFs();
        _dirty = false;
    }

    /// <summary>
    /// Before a fail-over: publishes every file received completely (durably) and drops only the one
    /// still in flight, so the target serves everything the source managed to send and never a half file.
    /// </summary>
    public void FinishReceived()
    {
        var failed = new List<ParallelWrites.Item>();
        TakeAside(all: true, failed);
        foreach (var f in failed)
            f.Owner.Dispose();
        DropCurrent();
        FlushBatch();
        WaitForFlush();
        tree.SyncFs();
    }

    /// <summary>Publishes pending files at or around <paramref name="path"/> (before reading it, e.g. for a signature).</summary>
    public void Settle(RelPath path) => FlushIfTouches(path);

    /// <summary>Called first by every operation that changes the tree.</summary>
    private void FlushIfTouches(RelPath path)
    {
        RequireNothingAside();
        FlushPendingIfTouches(path);
    }

    /// <summary>Files written aside are taken back (<see cref="TakeAside"/>) before any other operation, which may depend on them.</summary>
    private void RequireNothingAside()
    {
        if (WritingAside)
            throw new InvalidOperationException("files are still being written aside; take them back first");
    }

    private void FlushPendingIfTouches(RelPath path)
    {
        _dirty = true;
        if (_flushingPaths.Touches(path))
            WaitForFlush();
        if (_pendingPaths.Touches(path))
        {
            FlushBatch();
            WaitForFlush();
        }
    }

    /// <summary>Hands the pending batch to the background: syncfs, then the renames that publish it.</summary>
    private void FlushBatch()
    {
        if (_pending.Count == 0)
            return;
        WaitForFlush();
        var batch = _pending.ToArray();
        (_flushingPaths, _pendingPaths) = (_pendingPaths, _flushingPaths);
        _pending.Clear();
        _pendingBytes = 0;
        _flushing = Task.Run(() =>
        {
            int done = 0;
            try
            {
                tree.SyncFs();
                for (; done < batch.Length; done++)
                {
                    batch[done].Commit();
                    batch[done].Dispose();
                }
            }
            finally
            {
                for (; done < batch.Length; done++)
                    batch[done].Dispose();
            }
        });
    }

    /// <summary>Waits for the batch in flight; its failure (e.g. ENOSPC from syncfs) surfaces here.</summary>
    private void WaitForFlush()
    {
        var t = _flushing;
        _flushing = Task.CompletedTask;
        _flushingPaths.Clear();
        t.GetAwaiter().GetResult();
    }

    /// <summary>Drops anything not yet renamed into place: a half-received file never appears under its real name.</summary>
    public void Dispose()
    {
        try
        {
            WaitForFlush();
        }
        catch (PosixException)
        {
            // The session is ending anyway; the source re-sends what was not acknowledged.
        }
        DropCurrent();
        _aside?.Dispose();
        _aside = null;
        foreach (var t in _pending)
            t.Dispose();
        _pending.Clear();
        _pendingPaths.Clear();
        _directBuffer?.Dispose();
        _directBuffer = null;
    }
}
