using Understudy.Agent.Peer;
using Understudy.Agent.Source;
using Understudy.Core.Protocol.Control;
using Understudy.Core.Queue;

namespace Understudy.Agent.Jobs;

/// <summary>
/// Tells the target what this source has queued and the target has not acknowledged (ControlRequest
/// "source-status", docs/protocol.md), so that a fail-over can say what was in flight and lost with
/// the source: after each acknowledgement and about once a second while the job's session is open
/// (during mirrors and while paused too). One owned loop per session, stopped with it.
/// </summary>
internal sealed partial class JobRunner
{
    /// <summary>Between two reports when no acknowledgement comes.</summary>
    internal static readonly TimeSpan SourceStatusInterval = TimeSpan.FromSeconds(1);

    /// <summary>At most ten reports a second, however fast acknowledgements come.</summary>
    private static readonly TimeSpan SourceStatusSpacing = TimeSpan.FromMilliseconds(100);

    private CancellationTokenSource? _statusStop;
    private Task _statusLoop = Task.CompletedTask;

    private bool MirrorPending => !Mirrored || Volatile.Read(ref _mirrorsQueued) > 0 || Volatile.Read(ref _mirrorTaken);

    private void StartSourceStatus(SourceSession session)
    {
        if (_pipeline is null)
            return; // replication off: nothing is queued, and what a mirror has not sent yet is not known here
        _statusStop = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        _statusLoop = SourceStatusLoopAsync(session, _pipeline.Log, _statusStop.Token);
    }

    private async Task StopSourceStatusAsync()
    {
        if (_statusStop is null)
            return;
        await _statusStop.CancelAsync();
        await _statusLoop;
        _statusStop.Dispose();
        _statusStop = null;
    }

    private async Task SourceStatusLoopAsync(SourceSession session, SegmentLog log, CancellationToken ct)
    {
        await Task.Yield();
        try
        {
            while (!session.Faulted.IsCompleted)
            {
                var now = _ctx.Time.GetUtcNow();
                var r = ReplicationStatus(now);
                var report = new SourceStatusReport(r.OpsPending, r.BytesPending, r.OldestPendingAgeSeconds ?? 0, r.RemirrorRequired, MirrorPending,
                    (now - TimeSpan.FromSeconds(r.OldestPendingAgeSeconds ?? 0)).ToString("O"));
                await session.Connection.SendAsync(ControlVerbs.SourceStatus.Request(report), ct);
                await Task.Delay(SourceStatusSpacing, _ctx.Time, ct);
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
                await Task.WhenAny(log.WaitForAckAsync(r.AckedSeq + 1, wait.Token), Task.Delay(SourceStatusInterval - SourceStatusSpacing, _ctx.Time, wait.Token), session.Faulted);
                await wait.CancelAsync();
                ct.ThrowIfCancellationRequested();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or PeerException or InvalidOperationException)
        {
            // The session is breaking: its receive loop reports why; the next session reports again.
        }
    }
}
