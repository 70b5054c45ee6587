namespace Understudy.Agent.Replication;

/// <summary>
/// A token bucket for a job's link, plugged into <see cref="Peer.PeerConnection.Throttle"/>.
/// The rate may change at any time (no reconnect); 0 means unlimited. The bucket holds at most
/// a quarter second of tokens, so a burst after an idle period stays short.
/// </summary>
internal sealed class BandwidthLimiter(TimeProvider time)
{
    private readonly Lock _lock = new();
    private long _rate;
    private double _tokens;
    private long _last = time.GetTimestamp();

    public long BytesPerSecond
    {
        get => Interlocked.Read(ref _rate);
        set => Interlocked.Exchange(ref _rate, Math.Max(0, value));
    }

    public async ValueTask WaitAsync(int bytes, CancellationToken ct)
    {
        long rate = BytesPerSecond;
        if (rate <= 0)
            return;
        TimeSpan wait;
        lock (_lock)
        {
            long now = time.GetTimestamp();
            double capacity = Math.Max(rate / 4.0, 64 * 1024);
            _tokens = Math.Min(capacity, _tokens + time.GetElapsedTime(_last, now).TotalSeconds * rate);
            _last = now;
            _tokens -= bytes;
            wait = _tokens >= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(-_tokens / rate);
        }
        if (wait > TimeSpan.Zero)
            await Task.Delay(wait, time, ct);
    }
}
