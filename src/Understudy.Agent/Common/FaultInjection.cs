namespace Understudy.Agent.Common;

/// <summary>
/// A test seam compiled into Debug builds only (as Garnet's fault-injection points): <c>UNDERSTUDY_FAULT_LOOPS</c> =
/// <c>NAME[:N][,NAME[:N]…]</c> makes each named supervised loop (<see cref="LoopSupervisor"/>) throw at its first N
/// starts (1 when N is left out), so tests see a loop fail and come back without a real bug to set it off.
/// </summary>
internal static class FaultInjection
{
#if DEBUG
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> Pending = Parse(Environment.GetEnvironmentVariable("UNDERSTUDY_FAULT_LOOPS"));

    private static System.Collections.Concurrent.ConcurrentDictionary<string, int> Parse(string? value)
    {
        var d = new System.Collections.Concurrent.ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        foreach (var item in (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = item.Split(':');
            d[parts[0]] = parts.Length > 1 && int.TryParse(parts[1], out var n) ? n : 1;
        }
        return d;
    }

    public static void Throw(string loop)
    {
        while (Pending.TryGetValue(loop, out var left) && left > 0)
        {
            if (Pending.TryUpdate(loop, left - 1, left))
                throw new InvalidOperationException($"fault injected into the {loop} loop (UNDERSTUDY_FAULT_LOOPS)");
        }
    }
#else
    public static void Throw(string loop)
    {
    }
#endif
}
