using System.Globalization;

namespace Understudy.LabTests.Chaos;

/// <summary>What one chaos episode does (issue 20, the chaos runner); each is undone before the next begins.</summary>
internal enum ChaosFault
{
    /// <summary>SIGKILL of the agent, then started again on the same data directory.</summary>
    KillSource,
    KillTarget,

    /// <summary>SIGSTOP, then SIGCONT: a hung host as its peer sees it (the kernel, smbd and etcd go on).</summary>
    FreezeSource,
    FreezeTarget,

    /// <summary>The host's bridge port down, then up: a pulled cable.</summary>
    CutSource,
    CutTarget,

    /// <summary>The agent's data directory (a small tmpfs) filled, then freed.</summary>
    FillSource,
    FillTarget,

    /// <summary>Failed over (forced by a source cut when not): the target reboots, losing the address and its shares, and its agent starts again.</summary>
    TargetRestartFailedOver,

    /// <summary>Failed over (forced when not): the source reboots with the service address in its static network configuration.</summary>
    ReturningSource,

    /// <summary>Failed over: restore, then fail-back, as the operator brings the workload home.</summary>
    Failback,
}

/// <summary>One drawn episode: which fault (picked among those that apply when it is due), for how long, and the pause after it.</summary>
internal sealed record ChaosEpisode(int Index, ChaosFault Fault, TimeSpan Hold, TimeSpan Gap)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"#{Index} {Fault} hold {Hold.TotalSeconds:0.0}s");
}

/// <summary>
/// The seeded draws of a chaos run. The fault is chosen when the episode is due, from the faults that apply in the
/// state the run is in then (fail-back only while failed over), with a number drawn in sequence: the same seed gives
/// the same draws; which faults they pick depends on the states the run reaches, which timing can change.
/// </summary>
internal sealed class ChaosSchedule(int seed)
{
    private static readonly ChaosFault[] Always =
    [
        ChaosFault.KillSource, ChaosFault.KillTarget, ChaosFault.FreezeSource, ChaosFault.FreezeTarget,
        ChaosFault.CutSource, ChaosFault.CutTarget, ChaosFault.CutSource, ChaosFault.FillSource, ChaosFault.FillTarget,
        ChaosFault.TargetRestartFailedOver, ChaosFault.ReturningSource,
    ];

    private readonly Random _rng = new(seed);
    private int _index;

    public int Seed => seed;

    /// <summary>The next episode; <paramref name="failedOver"/> adds fail-back (three times as likely as any one fault, so runs come home).</summary>
    public ChaosEpisode Next(bool failedOver)
    {
        var u = _rng.NextDouble();
        var holdMs = _rng.Next(300, 8000);
        var gapMs = _rng.Next(500, 3000);
        ChaosFault[] choices = failedOver ? [.. Always, ChaosFault.Failback, ChaosFault.Failback, ChaosFault.Failback] : Always;
        var fault = choices[(int)(u * choices.Length)];
        return new ChaosEpisode(++_index, fault, TimeSpan.FromMilliseconds(holdMs), TimeSpan.FromMilliseconds(gapMs));
    }
}
