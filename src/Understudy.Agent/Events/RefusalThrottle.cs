namespace Understudy.Agent.Events;

/// <summary>
/// Aggregates the security events of refused connections, so that a client on the network cannot make the agent
/// store one event per attempt (1,806 in 3 s were measured, issue 19) and fill its data directory. The first refusal
/// of a kind from an address is recorded as it happens; those that follow within the minute are counted, and once
/// a minute each address that had more gets one event: "N refused connections from X in the last minute". An
/// address that goes quiet for a whole minute starts afresh. Addresses beyond <see cref="MaxAddresses"/> share one
/// count, so many addresses cannot make many events either.
/// </summary>
internal sealed class RefusalThrottle : IDisposable
{
    private readonly TimeSpan _window;

    private const int MaxAddresses = 256;
    private const string ManyAddresses = "other addresses";

    private readonly EventLog _events;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly Dictionary<(EventCode, string), Counted> _windows = [];
    private readonly ITimer _timer;

    private sealed class Counted(DateTimeOffset start)
    {
        public DateTimeOffset Start { get; set; } = start;
        public int Suppressed { get; set; }
        public string? Last { get; set; }
    }

    /// <param name="window">A minute (<c>AgentSettings.RefusalWindow</c>; tests shorten it).</param>
    public RefusalThrottle(EventLog events, TimeProvider time, TimeSpan window)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        _events = events;
        _time = time;
        _window = window;
        var tick = _window / 12;
        _timer = time.CreateTimer(_ => Flush(), null, tick, tick);
    }

    /// <summary>A refused connection from <paramref name="address"/> (an IP, no port): recorded now, or counted.</summary>
    public void Refused(EventCode code, string address, string message)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            var key = (code, address);
            if (!_windows.ContainsKey(key) && _windows.Count >= MaxAddresses)
                key = (code, ManyAddresses);
            if (_windows.TryGetValue(key, out var w))
            {
                w.Suppressed++;
                w.Last = message;
                return;
            }
            _windows[key] = new Counted(now);
        }
        _events.Record(code, Severity.Security, "peer", null, message);
    }

    /// <summary>Ends each window a minute old: one summary where refusals were counted, and a quiet one is forgotten.</summary>
    public void Flush()
    {
        var now = _time.GetUtcNow();
        var summaries = new List<(EventCode Code, string Address, int Count, string? Last)>();
        lock (_lock)
        {
            foreach (var (key, w) in _windows.ToList())
            {
                if (now - w.Start < _window)
                    continue;
                if (w.Suppressed == 0)
                {
                    _windows.Remove(key);
                    continue;
                }
                summaries.Add((key.Item1, key.Item2, w.Suppressed, w.Last));
                w.Start = now;
                w.Suppressed = 0;
            }
        }
        foreach (var s in summaries)
        {
            _events.Record(EventCode.PeerRefusalsSummarized, Severity.Security, "peer", null,
                $"{s.Count} more refused connection{(s.Count == 1 ? "" : "s")} from {s.Address} in the last {Minutes(_window)} ({s.Code}; the last: {s.Last})",
                new { address = s.Address, count = s.Count, code = (int)s.Code });
        }
    }

    private static string Minutes(TimeSpan t) => t == TimeSpan.FromMinutes(1) ? "minute" : ((long)t.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture) + " ms";

    public void Dispose()
    {
        _timer.Dispose();
        Flush();
    }
}
