using System.Net;

namespace Understudy.Testing.Lab;

/// <summary>One moment at which more than one host held the watched address.</summary>
public sealed record AddressOverlap(DateTime At, IReadOnlyList<string> Holders, IReadOnlyList<string> CutHolders);

/// <summary>A change of who holds the watched address ("" when nobody does).</summary>
public sealed record AddressChange(DateTime At, IReadOnlyList<string> Holders);

/// <summary>
/// Polls, in the background, which lab hosts hold one address, and records every moment it was
/// held by two hosts at once: the "never held by both" check of fail-over and fail-back tests.
/// A poll can miss an overlap shorter than its interval (5 ms by default); it never invents one.
/// </summary>
public sealed class AddressWatch : IAsyncDisposable
{
    private readonly Lab _lab;
    private readonly TimeSpan _interval;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<AddressOverlap> _overlaps = [];
    private readonly List<AddressChange> _changes = [];
    private readonly Task _loop;
    private int _samples;
    private Exception? _error;

    internal AddressWatch(Lab lab, IPAddress address, TimeSpan interval)
    {
        _lab = lab;
        Address = address;
        _interval = interval;
        Sample(); // the state at the start is known before the constructor returns
        _loop = Task.Run(() => LoopAsync(_stop.Token));
    }

    public IPAddress Address { get; }

    public int Samples => Volatile.Read(ref _samples);

    public IReadOnlyList<AddressOverlap> Overlaps
    {
        get
        {
            lock (_overlaps)
                return [.. _overlaps];
        }
    }

    public IReadOnlyList<AddressChange> Changes
    {
        get
        {
            lock (_overlaps)
                return [.. _changes];
        }
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _loop;
    }

    /// <summary>
    /// Throws when two hosts held the address at once. With <paramref name="ignoreCutHosts"/>, a
    /// holder whose link was cut at that moment does not count (nobody can reach it: a crashed
    /// source that still has its address configured is not a split brain).
    /// </summary>
    public void EnsureNeverHeldByBoth(bool ignoreCutHosts = false)
    {
        if (_error is not null)
            throw new LabException($"the watch of {Address} failed after {Samples} samples: {_error.Message}");
        var bad = Overlaps.Where(o => (ignoreCutHosts ? o.Holders.Except(o.CutHolders).Count() : o.Holders.Count) > 1).ToList();
        if (bad.Count > 0)
            throw new LabException($"{Address} was held by two hosts at once in {bad.Count} of {Samples} samples, first at {bad[0].At:HH:mm:ss.fff} by {string.Join(" and ", bad[0].Holders)}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
            await StopAsync();
        _stop.Dispose();
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await Task.Delay(_interval, ct);
                Sample();
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (LabException e)
        {
            _error = e;
        }
    }

    private void Sample()
    {
        var holders = _lab.AddressHolders(Address);
        var now = DateTime.UtcNow;
        Interlocked.Increment(ref _samples);
        var names = holders.Select(h => h.Name).ToArray();
        lock (_overlaps)
        {
            if (_changes.Count == 0 || !_changes[^1].Holders.SequenceEqual(names))
                _changes.Add(new AddressChange(now, names));
            if (holders.Count > 1)
                _overlaps.Add(new AddressOverlap(now, names, [.. holders.Where(_lab.IsCut).Select(h => h.Name)]));
        }
    }
}
