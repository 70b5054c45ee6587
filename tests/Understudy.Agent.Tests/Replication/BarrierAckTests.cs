using Understudy.Agent.Peer;
using Understudy.Agent.Source;
using Understudy.Agent.Tests.Support;
using Understudy.Core.Protocol;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Replication;

/// <summary>
/// A barrier waited for (<see cref="SourceSession.BarrierAsync"/>) is done when the target acknowledges that barrier, not
/// an earlier one that carried the same queue sequence number. Re-sent entries (a resync, a hard-link recheck) carry no
/// sequence number: their barrier repeats the last record's, so the ack of a barrier sent before them matched it too, and
/// idle was reported while the target had still to apply them (issue 16: fresh seed 612000008, a recheck's links and
/// the root's metadata after them applied after idle, the root's mtime 5 s newer on the target at the idle point).
/// </summary>
public sealed class BarrierAckTests : IAsyncLifetime
{
    private readonly CancellationTokenSource _cts = new(TimeSpan.FromMinutes(2));
    private readonly LoopbackPeers _peers = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _peers.DisposeAsync();
        _cts.Dispose();
    }

    private Task<(SourceSession Session, PeerConnection Target)> SessionAsync() => _peers.SessionAsync(_cts.Token);

    private async Task<Message> NextAsync(PeerConnection target)
    {
        using var frame = await target.ReceiveAsync(_cts.Token) ?? throw new InvalidOperationException("the source closed the connection");
        return frame.Message;
    }

    [Fact]
    public async Task TheAckOfAnEarlierBarrierAtTheSameSeq_DoesNotCompleteALaterBarrier()
    {
        var (session, target) = await SessionAsync();
        await using var _ = session;
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        session.Missing = _ => seen.TrySetResult();

        // The loop's barrier after the queue's records (sent, not waited for), then a resync's barrier at the same seq.
        await session.SendBarrierAsync(7, _cts.Token);
        await session.FlushAsync(_cts.Token);
        Assert.Equal(new Core.Protocol.Barrier(7), await NextAsync(target));
        var resync = session.BarrierAsync(7, _cts.Token);
        Assert.Equal(new Core.Protocol.Barrier(7), await NextAsync(target));

        // The target acknowledges the first barrier only, then reports something (read by the session after the ack).
        await target.SendAsync(new Ack(7), _cts.Token);
        await target.SendAsync(new ApplyFailed(ErrorCode.NotFound, "x", "marker"), _cts.Token);
        await target.FlushAsync(_cts.Token);
        await seen.Task.WaitAsync(_cts.Token);
        Assert.Equal(7, session.AckedSeq);
        // A negative can only be looked at for a while: a wrong completion is a continuation away, well within this.
        await Task.WhenAny(resync, Task.Delay(TimeSpan.FromSeconds(2), _cts.Token));
        Assert.False(resync.IsCompleted, "the resync's barrier counted as acknowledged by the ack of the barrier before it");

        // Its own ack completes it.
        await target.SendAsync(new Ack(7), _cts.Token);
        await target.FlushAsync(_cts.Token);
        await resync.WaitAsync(_cts.Token);
    }

    [Fact]
    public async Task BarriersAreAcknowledgedInTheOrderSent()
    {
        var (session, target) = await SessionAsync();
        await using var _ = session;
        var first = session.BarrierAsync(3, _cts.Token);
        Assert.Equal(new Core.Protocol.Barrier(3), await NextAsync(target));
        var second = session.BarrierAsync(3, _cts.Token);
        Assert.Equal(new Core.Protocol.Barrier(3), await NextAsync(target));
        var third = session.BarrierAsync(5, _cts.Token);
        Assert.Equal(new Core.Protocol.Barrier(5), await NextAsync(target));
        foreach (ulong seq in (ulong[])[3, 3, 5])
            await target.SendAsync(new Ack(seq), _cts.Token);
        await target.FlushAsync(_cts.Token);
        await Task.WhenAll(first, second, third).WaitAsync(_cts.Token);
        Assert.Equal(5, session.AckedSeq);
    }
}
