namespace Understudy.Core.WriteOrder.Source;

/// <summary>Runs a <see cref="PointSource"/>: a point at most every <c>interval</c> (skipped when nothing changed),
/// each sent and acknowledged before the next is taken. <c>open</c> gives the stream a point's delta goes to (the
/// sender's connection, a journal file); it is disposed after the point. <c>sent</c> sees every point sent, before the
/// older snapshots are retired: the agent waits there for the target to acknowledge the point, so the snapshot the
/// replica holds is always kept (the parent of the next delta, after a reconnect too). <c>lastSent</c>: the point the
/// replica holds (the parent of the first delta), or null to send the first point whole.
///
/// Why no snapshot is taken while a point is in flight (an earlier version took one every interval and sent only the
/// newest of those that piled up behind a slow send): each snapshot commits a btrfs transaction, and every fsync of the
/// protected workload waits behind the commit — the main cost of the mode (ADR 0001). A snapshot taken while a send
/// runs is either sent later, older than one taken when the send ends would be, or superseded and deleted unsent
/// (its deletion another transaction). Taking the next point when the previous one is acknowledged costs one
/// commit per point shipped and gives a fresher point: the RPO under load is about the interval or one round trip,
/// whichever is longer, plus one round trip.</summary>
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
        var last = lastSent;
        try
        {
            // A tick missed during a long send is taken as soon as the send ends (PeriodicTimer keeps one): after a
            // slow point the next is taken at once, after a quick one at the interval.
            using var timer = new PeriodicTimer(interval, time);
            do
            {
                if (await Task.Run(source.TryTake, ct).ConfigureAwait(false) is not { } point)
                    continue;
                PointRecord record;
                await using (var destination = open(point))
                    record = await source.SendAsync(point, last, destination, ct).ConfigureAwait(false);
                await sent(record, ct).ConfigureAwait(false);
                source.Retire(record);
                last = point;
            }
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // stopped by the caller
        }
    }
}
