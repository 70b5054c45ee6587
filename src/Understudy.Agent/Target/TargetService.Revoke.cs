using System.Collections.Concurrent;
using Understudy.Agent.Events;
using Understudy.Agent.Peer;

namespace Understudy.Agent.Target;

/// <summary>
/// Revoking a source's trust takes effect at once. The trust list alone is checked only in the TLS
/// handshake, so without this a session already open would keep replicating, and the source's
/// registrations and fail-over plans (kept in the state store) would keep acting for it, across
/// restarts too. The replicas stay on disk: revoking trust deletes no data.
/// </summary>
internal sealed partial class TargetService
{
    /// <summary>Every live peer connection (any verb) by the peer it came from, so a revocation can end them.</summary>
    private readonly ConcurrentDictionary<CancellationTokenSource, string> _connections = new();

    /// <summary>Runs one accepted connection so that <see cref="RevokeAsync"/> can end it.</summary>
    private async Task RunRevocableAsync(PeerConnection conn, Func<CancellationToken, Task> handle, CancellationToken ct)
    {
        using var live = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _connections[live] = conn.PeerId;
        try
        {
            await handle(live.Token);
        }
        catch (OperationCanceledException) when (live.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            // revoked
        }
        finally
        {
            _connections.TryRemove(live, out _);
        }
    }

    /// <summary>The policy of <paramref name="sourceId"/>'s trust entry was replaced: its live connections end (it reconnects,
    /// and its sessions start again under the new roots and privileges). Returns how many were closed.</summary>
    public async Task<int> RestartSessionsAsync(string sourceId)
    {
        int closed = 0;
        foreach (var (cts, peer) in _connections)
        {
            if (peer != sourceId)
                continue;
            try
            {
                await cts.CancelAsync();
                closed++;
            }
            catch (ObjectDisposedException)
            {
                // it ended on its own meanwhile
            }
        }
        return closed;
    }

    /// <summary>Trust in <paramref name="sourceId"/> was removed: closes its connections, disarms its fail-over
    /// plans and forgets its registrations (a job that holds its identity after a fail-over is kept, so it can be
    /// failed back). Returns what it did, one line each, for the operator.</summary>
    public async Task<IReadOnlyList<string>> RevokeAsync(string sourceId, CancellationToken ct)
    {
        var done = new List<string>();
        int closed = await RestartSessionsAsync(sourceId);
        // Sessions end on their own once cancelled; wait for them so nothing of the source is applied after the reply.
        foreach (var (key, session) in _active)
        {
            if (!key.StartsWith(sourceId + "/", StringComparison.Ordinal))
                continue;
            try
            {
                await session.Done.WaitAsync(TimeSpan.FromSeconds(30), ct);
            }
            catch (TimeoutException)
            {
                done.Add($"job '{key[(sourceId.Length + 1)..]}': its session did not end within 30 s");
            }
        }
        if (closed > 0)
            done.Add($"closed {closed} live connection{(closed == 1 ? "" : "s")}");
        var kept = await failover.DisarmAsync(sourceId, done);
        foreach (var h in store.ListHosted().Where(h => h.SourceId == sourceId))
        {
            if (kept.Contains(h.Job))
                continue;
            store.RemoveHosted(h.SourceId, h.Job);
            events.Record(EventCode.JobRemoved, Severity.Info, "job", h.Job, $"no longer protecting job '{h.Job}' from {h.SourceName}: its trust was removed (the replica in {h.TargetPath} is kept)");
            done.Add($"job '{h.Job}': registration removed (replica kept in {h.TargetPath})");
        }
        return done;
    }
}
