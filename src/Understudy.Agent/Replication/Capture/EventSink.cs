using System.Threading.Channels;
using Understudy.Core.Paths;

namespace Understudy.Agent.Replication.Capture;

/// <summary>
/// The bounded channel between a watcher's kernel reader (the single writer) and its consumer.
/// The reader must never block on the consumer, or the kernel queue overflows instead; so when the
/// channel is full an event is dropped and an <see cref="ChangeKind.Overflow"/> of the root takes its place.
/// </summary>
/// <remarks>
/// Invariants that make this lossless without a second thread:
/// <list type="bullet">
/// <item>Ordinary events may fill the channel only up to capacity − 1: the last slot is kept for an
/// overflow marker, so a marker can almost always be written the moment something is dropped.</item>
/// <item>The channel is FIFO, so while <c>Count ≥ 1</c> the item written last is still unread. If it is an
/// overflow covering the dropped path, the consumer will rescan after this drop: nothing more to write
/// (this is the coalescing). The same reasoning drops a repeated Written/Modified/Attributes event for a
/// path whose identical event is still unread.</item>
/// <item>Only when the reserved slot already holds a narrower overflow can a marker not be written; then
/// it stays pending and the reader loop calls <see cref="Flush"/> on a short timer until it is out.</item>
/// </list>
/// </remarks>
internal sealed class EventSink
{
    private readonly Channel<ChangeEvent> _channel;
    private readonly int _capacity;
    private ChangeEvent _last;
    private bool _hasLast;
    private bool _overflowPending;
    private long _dropped;

    public EventSink(int capacity)
    {
        _capacity = Math.Max(2, capacity);
        _channel = Channel.CreateBounded<ChangeEvent>(new BoundedChannelOptions(_capacity)
        {
            SingleWriter = true,
            SingleReader = false,
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = false,
        });
    }

    public ChannelReader<ChangeEvent> Reader => _channel.Reader;

    /// <summary>Events dropped because the consumer lagged (each covered by an overflow marker).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>True while an overflow marker still has to be written.</summary>
    public bool HasPending => _overflowPending;

    public void Publish(ChangeEvent e)
    {
        if (e.Kind == ChangeKind.Overflow)
        {
            PublishOverflow(e.Path, e.Reason);
            return;
        }
        if (_overflowPending)
            Flush();
        int count = _channel.Reader.Count;
        if (count >= 1 && _hasLast && IsCoalescible(e) && _last == e)
            return;
        if (count < _capacity - 1 && _channel.Writer.TryWrite(e))
        {
            Remember(e);
            return;
        }
        Interlocked.Increment(ref _dropped);
        PublishOverflow(RelPath.Root);
    }

    /// <summary>Writes a pending overflow marker if there is room now.</summary>
    public void Flush()
    {
        if (_overflowPending)
            PublishOverflow(RelPath.Root);
    }

    public void Complete(Exception? error = null) => _channel.Writer.TryComplete(error);

    private void PublishOverflow(RelPath path, string? reason = null)
    {
        if (_channel.Reader.Count >= 1 && _hasLast && _last.Kind == ChangeKind.Overflow && path.IsUnder(_last.Path))
        {
            if (path.IsRoot)
                _overflowPending = false;
            return;
        }
        var marker = _overflowPending
            ? new ChangeEvent(ChangeKind.Overflow, RelPath.Root, true)
            : new ChangeEvent(ChangeKind.Overflow, path, true, Reason: reason);
        if (_channel.Writer.TryWrite(marker))
        {
            Remember(marker);
            if (marker.Path.IsRoot)
                _overflowPending = false;
            return;
        }
        _overflowPending = true;
    }

    private void Remember(ChangeEvent e)
    {
        _last = e;
        _hasLast = true;
    }

    private static bool IsCoalescible(ChangeEvent e) =>
        e.Kind is ChangeKind.Written or ChangeKind.Modified or ChangeKind.Attributes;
}
