using System.Net;
using Understudy.Agent.Events;
using Understudy.Agent.Identity;

namespace Understudy.Agent.Failover;

/// <summary>
/// Duplicate address detection moved into the suspect phase (issue 21): from the monitor's first miss until the
/// take-over ends, each service address the plan would add (IPv4, not forced) is probed round after round
/// (<see cref="IDuplicateAddressProbe"/>, RFC 5227 probes), so the take-over's address step finds it already known
/// free (<see cref="DadEvidence.Judge"/>) and adds it without a fresh 400 ms wait. Anything else — an answer, a round
/// that could not be sent, evidence older than <see cref="DadEvidence.Freshness"/> — leaves the step to its own full detection,
/// which refuses an address that answers: the guard is the same, only earlier. One loop per address, owned here and
/// awaited on dispose; the engine starts and ends them as its state changes (<see cref="FailoverEngine"/>).
/// </summary>
internal sealed class SuspectProbing(IDuplicateAddressProbe probe, TimeProvider time, IReadOnlyList<InterfaceAddress> addresses,
    Action<EventCode, string, string, object?> report) : IEarlyDad, IAsyncDisposable
{
    private static TimeSpan Round => DadEvidence.Round;

    private static TimeSpan Freshness => DadEvidence.Freshness;

    private readonly Lock _lock = new();
    private readonly List<CancellationTokenSource> _ended = [];
    private CancellationTokenSource? _cts;
    private Task _loops = Task.CompletedTask;
    private Dictionary<string, DadEvidence> _evidence = [];
    private bool _disposed;

    /// <summary>True while the loops run (tests wait on it).</summary>
    public bool Probing
    {
        get
        {
            lock (_lock)
                return _cts is not null;
        }
    }

    /// <summary>Starts probing every address afresh, unless it already runs. Cheap; called under the engine's lock.</summary>
    public void Begin()
    {
        lock (_lock)
        {
            // After dispose nothing starts: a loop begun then would be awaited by nobody.
            if (_cts is not null || addresses.Count == 0 || _disposed)
                return;
            _cts = new CancellationTokenSource();
            _evidence = addresses.DistinctBy(a => a.Cidr).ToDictionary(a => a.Cidr, _ => new DadEvidence());
            var token = _cts.Token;
            // The loops of an earlier phase may still be finishing their round: kept, so dispose awaits them too.
            _loops = Task.WhenAll([_loops, .. addresses.DistinctBy(a => a.Cidr).Select(a => ProbeLoopAsync(a, _evidence[a.Cidr], token))]);
        }
    }

    /// <summary>Stops probing (the source answers again, an operator must decide, or the take-over has ended). Does not wait.</summary>
    public void End()
    {
        lock (_lock)
        {
            if (_cts is null)
                return;
            _cts.Cancel();
            _ended.Add(_cts);
            _cts = null;
        }
    }

    /// <summary>The verdict now; null when <paramref name="address"/> is not probed, or probing is not running (its evidence would be old).</summary>
    public EarlyVerdict? Verdict(InterfaceAddress address)
    {
        lock (_lock)
        {
            if (_cts is null || !_evidence.TryGetValue(address.Cidr, out var evidence))
                return null;
            return evidence.Judge(time.GetUtcNow(), Freshness);
        }
    }

    private async Task ProbeLoopAsync(InterfaceAddress address, DadEvidence evidence, CancellationToken ct)
    {
        // Off the caller's stack, which holds the engine's lock.
        await Task.Yield();
        var ip = IPAddress.Parse(address.Address);
        bool failedOnce = false;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var started = time.GetUtcNow();
                bool inUse;
                try
                {
                    inUse = await probe.InUseAsync(address.Interface, ip, ct);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // An IOException from the real probe (no CAP_NET_RAW, the interface gone); anything else the same way.
                    lock (_lock)
                        evidence.Failed(e.Message);
                    if (!failedOnce)
                        report(EventCode.EarlyDadFailed, Severity.Warning, $"ARP probes for {address.Address} on {address.Interface} cannot be sent while the source is suspect ({e.Message}); "
                            + "a take-over runs its own duplicate address detection", new { address = address.Cidr, device = address.Interface });
                    failedOnce = true;
                    await Task.Delay(Round, time, ct);
                    continue;
                }
                var ended = time.GetUtcNow();
                if (inUse)
                {
                    lock (_lock)
                        evidence.Answered(ended);
                    // Settled for this phase: an address that answered is never taken on early evidence. No more probes.
                    report(EventCode.EarlyDadAnswered, Severity.Info, $"{address.Address} answered an ARP probe on {address.Interface} while the source is suspect: another host holds it; "
                        + "a take-over runs its own duplicate address detection and is refused while the address answers", new { address = address.Cidr, device = address.Interface });
                    return;
                }
                lock (_lock)
                    evidence.Clean(started, ended, Freshness);
                // A probe that returns at once (a fake; a real one listens a whole round) is paced to the real one's rate.
                if (ended - started < Round)
                    await Task.Delay(Round - (ended - started), time, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        End();
        Task loops;
        lock (_lock)
        {
            _disposed = true;
            loops = _loops;
        }
        await loops;
        lock (_lock)
        {
            foreach (var c in _ended)
                c.Dispose();
            _ended.Clear();
        }
    }
}
