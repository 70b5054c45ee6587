using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Understudy.Core.Paths;
using Understudy.Core.Posix;

namespace Understudy.Agent.Replication.Capture;

/// <summary>
/// What inotify and fanotify watchers share: one dedicated thread that owns all watcher state
/// (so the wd/handle maps need no locks), blocked in poll() on the kernel fd and an eventfd that
/// <see cref="DisposeAsync"/> signals, so disposal is prompt even when nothing happens on disk.
/// </summary>
internal abstract class KernelWatcher : IChangeWatcher
{
    private const int FlushRetryMs = 10;

    private readonly Thread _thread;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int _wakeFd;
    private readonly Task? _readGate;
    private readonly int _bufferSize;
    private volatile bool _stopping;
    private int _disposed;

    protected KernelWatcher(RootPath root, Func<RelPath, bool>? excluded, WatcherOptions options, ILogger? logger)
    {
        Root = root;
        Excluded = excluded ?? (static _ => false);
        Options = options;
        Logger = logger;
        Sink = new EventSink(options.ChannelCapacity);
        _readGate = options.ReadGate;
        _bufferSize = Math.Max(4096, options.ReadBufferSize);
        _wakeFd = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (_wakeFd < 0)
            throw new WatcherException($"eventfd failed: {Sys.ErrorText(Marshal.GetLastPInvokeError())}");
        _thread = new Thread(Run) { IsBackground = true, Name = $"understudy-{GetType().Name}" };
    }

    public abstract string Method { get; }

    public ChannelReader<ChangeEvent> Events => Sink.Reader;

    public WatchProgress Progress { get; } = new();

    public Task Ready => _ready.Task;

    /// <inheritdoc />
    public virtual bool Settled => true;

    /// <inheritdoc/>
    public bool Quiet
    {
        get
        {
            // In the order events travel, so that one moving on while this looks is seen where it arrives: the kernel's
            // queue, a read being parsed, events held back, the sink. (The caller looks at the later stages after this.)
            int fd = KernelFd;
            if (fd >= 0 && Sys.TryBytesReadable(fd, out int bytes) == 0 && bytes > 0)
                return false;
            return !_reading && Settled && Sink.Reader.Count == 0 && !Sink.HasPending;
        }
    }

    protected RootPath Root { get; }

    protected Func<RelPath, bool> Excluded { get; }

    protected WatcherOptions Options { get; }

    protected ILogger? Logger { get; }

    protected EventSink Sink { get; }

    /// <summary>Bytes asked for per read(): a read that returns much less found the kernel queue empty.</summary>
    protected int ReadBufferSize => _bufferSize;

    /// <summary>The kernel notification fd, open until the thread has stopped.</summary>
    protected abstract int KernelFd { get; }

    /// <summary>True while there is setup work to do between reads (poll must not block).</summary>
    protected virtual bool HasWork => false;

    /// <summary>Poll timeout when there is no work: -1 to wait for the kernel, or a few ms to finish a pending pairing.</summary>
    protected virtual int IdleTimeoutMs => -1;

    protected void Start() => _thread.Start();

    protected void MarkReady()
    {
        Progress.SetReady();
        _ready.TrySetResult();
    }

    /// <summary>Parses one read() worth of kernel records, all on the watcher thread.</summary>
    protected abstract void OnKernelData(ReadOnlySpan<byte> data);

    /// <summary>One bounded slice of setup work (never the whole tree at once).</summary>
    protected virtual void DoWork()
    {
    }

    /// <summary>Called when poll() timed out with nothing to read.</summary>
    protected virtual void OnIdle()
    {
    }

    protected virtual void CloseKernel()
    {
    }

    private unsafe void Run()
    {
        Exception? failure = null;
        try
        {
            var buffer = GC.AllocateUninitializedArray<byte>(_bufferSize, pinned: true);
            var fds = stackalloc PollFd[2];
            while (!_stopping)
            {
                bool gated = _readGate is { IsCompleted: false };
                fds[0] = new PollFd { Fd = _wakeFd, Events = Libc.POLLIN };
                fds[1] = new PollFd { Fd = gated ? -1 : KernelFd, Events = Libc.POLLIN };
                int timeout = HasWork ? 0 : Sink.HasPending || gated ? FlushRetryMs : IdleTimeoutMs;
                int n = Libc.poll(fds, 2, timeout);
                if (n < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Libc.EINTR)
                        continue;
                    throw new WatcherException($"poll failed: {Sys.ErrorText(errno)}");
                }
                if ((fds[0].REvents & Libc.POLLIN) != 0 || _stopping)
                    break;
                if (!gated && (fds[1].REvents & Libc.POLLIN) != 0)
                    ReadOnce(buffer);
                else if (n == 0 && !HasWork && !gated)
                    OnIdle();
                if (HasWork)
                    DoWork();
                Sink.Flush();
            }
        }
        catch (Exception e)
        {
            failure = e;
            Progress.SetError(e.Message);
            Logger?.LogError(e, "Change watcher for {Root} stopped", Root);
        }
        finally
        {
            _ready.TrySetException(failure ?? new ObjectDisposedException(GetType().Name));
            Sink.Complete(failure);
            _stopped.TrySetResult();
        }
    }

    /// <summary>Set while a read's events are between the kernel's queue and the sink (read but not yet published).</summary>
    private volatile bool _reading;

    private unsafe void ReadOnce(byte[] buffer)
    {
        _reading = true;
        try
        {
            ReadAndParse(buffer);
        }
        finally
        {
            _reading = false;
        }
    }

    private unsafe void ReadAndParse(byte[] buffer)
    {
        nint got;
        fixed (byte* p = buffer)
            got = Libc.read(KernelFd, p, (nuint)buffer.Length);
        if (got < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno is Libc.EAGAIN or Libc.EINTR)
                return;
            throw new WatcherException($"{Method} read failed: {Sys.ErrorText(errno)}");
        }
        OnKernelData(buffer.AsSpan(0, (int)got));
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            await _stopped.Task;
            return;
        }
        _stopping = true;
        if (_thread.ThreadState != ThreadState.Unstarted)
        {
            WakeThread();
            await _stopped.Task;
        }
        else
        {
            _ready.TrySetException(new ObjectDisposedException(GetType().Name));
            Sink.Complete();
            _stopped.TrySetResult();
        }
        CloseKernel();
        Libc.close(_wakeFd);
        _ = _ready.Task.Exception; // observed: a disposed watcher's Ready is not an error anyone waits for
        GC.SuppressFinalize(this);
    }

    private unsafe void WakeThread()
    {
        ulong one = 1;
        Libc.write(_wakeFd, (byte*)&one, sizeof(ulong));
    }
}
