using System.Threading.Channels;

namespace Understudy.Core.WriteOrder.Source;

/// <summary>Runs a <see cref="PointSource"/>: a point every <c>interval</c> (skipped when nothing changed), sent by a
/// second loop, so a snapshot is taken while the previous point is still being sent and a slow send does not delay
/// the next point. When points pile up behind a slow send, only the newest is sent (its delta from the last sent
/// point covers the ones between, which are deleted unsent): the replica gets the newest state soonest.
/// <c>open</c> gives the stream a point's delta goes to (the sender's connection, a journal file); it is disposed
/// after the point. <c>sent</c> sees every point sent, before the older snapshots are retired: the agent waits there
/// for the target to acknowledge the point, so the snapshot the replica holds is always kept (the parent of the next
/// delta, after a reconnect too). <c>lastSent</c>: the point the replica holds (the parent of the first delta), or null
/// to send the first point whole.</summary>
internal sealed class PointLoop(PointSource source, TimeProvider time, TimeSpan interval, SourcePoint? lastSent, Func<SourcePoint, Stream> open, Func<PointRecord, CancellationToken, Task> sent)
{
    public PointLoop(PointSource source, TimeProvider time, TimeSpan interval, SourcePoint? lastSent, Func<SourcePoint, Stream> open, Action<PointRecord> sent)
        : this(source, time, interval, lastSent, open, (r, _) =>
        {
            sent(r);
            return Task.CompletedTask;
        })
    {
    }

    /// <summary>Runs until <paramref name="ct"/> is cancelled (returns then), or a point fails (throws).</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var taken = Channel.CreateUnbounded<SourcePoint>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var sender = SendLoopAsync(taken.Reader, stop);
        try
        {
            using var timer = new PeriodicTimer(interval, time);
            do
            {
                if (await Task.Run(source.TryTake, stop.Token).ConfigureAwait(false) is { } p)
                    taken.Writer.TryWrite(p);
            }
            while (await timer.WaitForNextTickAsync(stop.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // stopped, or the sender failed: the sender's outcome is awaited below
        }
        finally
        {
            taken.Writer.TryComplete();
            await stop.CancelAsync().ConfigureAwait(false);
        }
        try
        {
            await sender.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // stopped by the caller
        }
    }

    private async Task SendLoopAsync(ChannelReader<SourcePoint> taken, CancellationTokenSource stop)
    {
        try
        {
            var last = lastSent;
            while (await taken.WaitToReadAsync(stop.Token).ConfigureAwait(false))
            {
                SourcePoint? point = null;
                while (taken.TryRead(out var p))
                {
                    if (point is not null)
                        source.Destroy(point); // superseded before it was sent
                    point = p;
                }
                PointRecord record;
                await using (var destination = open(point!))
                    record = await source.SendAsync(point!, last, destination, stop.Token).ConfigureAwait(false);
                await sent(record, stop.Token).ConfigureAwait(false);
                source.Retire(record);
                last = point;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // One way to die: the taking loop stops at once rather than at its next tick.
            await stop.CancelAsync().ConfigureAwait(false);
            throw;
        }
    }
}
