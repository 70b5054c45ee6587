using System.Collections.Concurrent;

namespace Understudy.Agent.Common;

/// <summary>
/// A test seam that acts in Debug builds only (as Garnet's fault-injection points): <c>UNDERSTUDY_FAULT_LOOPS</c> =
/// <c>NAME[:N][,NAME[:N]…]</c>, read once by the host, makes each named supervised loop (<see cref="LoopSupervisor"/>)
/// throw at its first N starts (1 when N is left out), so tests see a loop fail and come back without a real bug to
/// set it off. A Release build ignores the variable.
/// </summary>
internal sealed class FaultInjection
{
    private readonly ConcurrentDictionary<string, int> _pending;

    private FaultInjection(ConcurrentDictionary<string, int> pending) => _pending = pending;

    /// <summary>The loops <c>UNDERSTUDY_FAULT_LOOPS</c> in <paramref name="env"/> names; null when it names none, and
    /// always in a Release build.</summary>
    public static FaultInjection? FromEnvironment(Func<string, string?> env)
    {
        ArgumentNullException.ThrowIfNull(env);
#if DEBUG
        var pending = Parse(env("UNDERSTUDY_FAULT_LOOPS"));
        return pending.IsEmpty ? null : new FaultInjection(pending);
#else
        return null;
#endif
    }

    private static ConcurrentDictionary<string, int> Parse(string? value)
    {
        var d = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        foreach (var item in (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = item.Split(':');
            d[parts[0]] = parts.Length > 1 && int.TryParse(parts[1], out var n) ? n : 1;
        }
        return d;
    }

    /// <summary>Throws when <paramref name="loop"/> has injected failures left.</summary>
    public void Throw(string loop)
    {
        while (_pending.TryGetValue(loop, out var left) && left > 0)
        {
            if (_pending.TryUpdate(loop, left - 1, left))
                throw new InvalidOperationException($"fault injected into the {loop} loop (UNDERSTUDY_FAULT_LOOPS)");
        }
    }
}
