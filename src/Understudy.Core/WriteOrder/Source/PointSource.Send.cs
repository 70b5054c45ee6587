using System.Diagnostics;
using Microsoft.Win32.SafeHandles;
using Understudy.Core.Posix;

namespace Understudy.Core.WriteOrder.Source;

internal sealed partial class PointSource
{
    /// <summary>Writes the send stream of <paramref name="point"/> into <paramref name="destination"/>: incremental
    /// from <paramref name="parent"/> (which must still be kept), or the whole subvolume when it is null. The
    /// kernel writes into a pipe from a thread of its own while this reads the pipe, checks every command
    /// (SendStreamReader) and copies it on; a fault on either side ends both (closing the pipe's read end makes
    /// the kernel's write fail with EPIPE). The stream has no clone from the parent (BtrfsIoctl.SendStream), so
    /// PointApplier can apply all of it.</summary>
    public async Task<PointRecord> SendAsync(SourcePoint point, SourcePoint? parent, Stream destination, CancellationToken ct)
    {
        long t0 = _time.GetTimestamp();
        var (readFd, writeFd) = Pipe();
        string display = Path.Combine(Subvolume.PointsDir, point.Name);
        var snap = PointSubvolume.OpenDir(display, display);
        var kernel = Task.Factory.StartNew(
            () =>
            {
                using (snap)
                using (writeFd)
                    BtrfsIoctl.SendStream(snap, writeFd.Fd, parent?.Info.TreeId ?? 0, display);
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        int commands = 0, changes = 0;
        bool ended = false;
        long bytes;
        try
        {
            // Buffered: the reader takes each command in two reads (its header, then its body), and an unbuffered pipe
            // made each of them a read(2) run on the thread pool: for a database's delta (hundreds of 4 KiB writes per
            // point, four points a second) most of the source agent's CPU.
            await using var pipe = new BufferedStream(new FileStream(new SafeFileHandle(readFd.DangerousGetHandle(), ownsHandle: false), FileAccess.Read, bufferSize: 0), PipeReadBuffer);
            var reader = new SendStreamReader(new TeeStream(pipe, destination));
            await reader.ReadHeaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadCommandAsync(ct).ConfigureAwait(false) is { } c)
            {
                commands++;
                if (c.Kind == SendCommandKind.End)
                {
                    ended = true;
                    break;
                }
                if (c.Kind is not (SendCommandKind.Snapshot or SendCommandKind.Subvol))
                    changes++;
            }
            bytes = reader.Position;
        }
        finally
        {
            readFd.Dispose();
            try
            {
                await kernel.ConfigureAwait(false);
            }
            catch (PosixException) when (!ended)
            {
                // EPIPE after the reader gave up: the reader's exception is the one that says why
            }
        }
        if (!ended)
            throw new InvalidSendStreamException("BTRFS_IOC_SEND's stream ended without an End command", bytes);
        return new PointRecord(point.Seq, parent?.Seq, point.TakenAt, point.SnapshotTime, _time.GetElapsedTime(t0), bytes, commands, Empty: changes == 0);
    }

    private const int PipeReadBuffer = 256 << 10;

    /// <summary>A pipe with a 1 MiB buffer (default 64 KiB), so the kernel's send rarely waits for the reader.</summary>
    private static unsafe (SafeFd Read, SafeFd Write) Pipe()
    {
        int* fds = stackalloc int[2];
        if (Libc.pipe2(fds, Libc.O_CLOEXEC) != 0)
            throw PosixException.FromLastError("pipe2", null);
        var r = new SafeFd(fds[0]);
        var w = new SafeFd(fds[1]);
        _ = Libc.fcntl(w, Libc.F_SETPIPE_SZ, 1 << 20); // best effort: /proc/sys/fs/pipe-max-size may be lower
        Debug.Assert(!r.IsInvalid && !w.IsInvalid);
        return (r, w);
    }
}
