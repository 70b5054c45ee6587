using System.Globalization;
using CsCheck;

namespace Understudy.Agent.Tests.Replication.Convergence;

/// <summary>What an episode does between two idle points, besides churning the source tree.</summary>
internal enum Fault
{
    /// <summary>Nothing but churn.</summary>
    None,

    /// <summary>kill -9 of the source agent, churn while it is down, start it again (the startup scan must find it all).</summary>
    KillSource,

    /// <summary>kill -9 of the target agent while the source churns, then start it again.</summary>
    KillTarget,

    /// <summary>The link cut (the proxy drops every connection and refuses new ones) while the source churns.</summary>
    CutLink,

    /// <summary>`pause`, churn into the queue, `resume`.</summary>
    Pause,

    /// <summary>A clean stop of the source agent, churn, start.</summary>
    StopSource,

    /// <summary>The whole fail-over cycle with real agents: the source stopped at an idle point,
    /// `failover` on the target, clients churn the replica, the source started (it comes back passive), `restore`
    /// until in sync, `failback`, forward replication resumes. The next idle point finds the clients' changes on the
    /// source.</summary>
    Failover,
}

/// <summary>One step: churn <paramref name="Ops"/> operations, with <paramref name="Fault"/> around them.</summary>
internal sealed record EpisodeStep(Fault Fault, int Ops)
{
    public override string ToString() => Fault switch
    {
        Fault.None => $"churn {Ops.ToString(CultureInfo.InvariantCulture)}",
        Fault.Failover => $"{Fault} with {Ops.ToString(CultureInfo.InvariantCulture)} operations on the target",
        _ => $"{Fault} with {Ops.ToString(CultureInfo.InvariantCulture)} operations",
    };
}

/// <summary>
/// A seeded plan for one run of the convergence test: the tree before the job is applied, churn while the first
/// mirror runs, then steps of churn and faults, each followed by an idle point at which the trees must be equal.
/// Generated with CsCheck from the seed alone, so a seed printed by a failure replays the same plan (the churn's own
/// choices come from <see cref="ChurnSeed"/>, the clients' on the target during a fail-over from
/// <see cref="ClientChurnSeed"/>).
/// </summary>
internal sealed record ConvergenceEpisode(long Seed, int InitialOps, bool ChurnDuringMirror, int ChurnSeed, IReadOnlyList<EpisodeStep> Steps, int ClientChurnSeed)
{
    private static readonly Gen<EpisodeStep> StepGen =
        Gen.Frequency(
            (4, Gen.Const(Fault.None)), (1, Gen.Const(Fault.KillSource)), (1, Gen.Const(Fault.KillTarget)),
            (1, Gen.Const(Fault.CutLink)), (1, Gen.Const(Fault.Pause)), (1, Gen.Const(Fault.StopSource)))
        .SelectMany(f => Gen.Int[10, 80].Select(n => new EpisodeStep(f, n)));

    private static readonly Gen<(int Initial, bool During, int ChurnSeed, EpisodeStep[] Steps)> Plan =
        Gen.Select(Gen.Int[20, 200], Gen.Bool, Gen.Int[0, int.MaxValue], StepGen.Array[1, 4]);

    /// <summary>
    /// One plan in six ends with a fail-over (it costs a restore and a fail-back, several times a plain step), then up
    /// to two more steps of replication after the fail-back. Drawn from a stream of its own and put after the plan's
    /// other steps, so every seed keeps the plan it had before fail-overs were played (the regression seeds still
    /// replay what they found).
    /// </summary>
    private static readonly Gen<(EpisodeStep[] Tail, int ClientSeed)> FailoverTail =
        Gen.Select(
            Gen.Frequency(
                (5, Gen.Const(Array.Empty<EpisodeStep>())),
                (1, Gen.Select(Gen.Int[10, 80], StepGen.Array[0, 2], (n, after) => (EpisodeStep[])[new EpisodeStep(Fault.Failover, n), .. after]))),
            Gen.Int[0, int.MaxValue]);

    /// <summary>UNDERSTUDY_CONVERGENCE_SCALE multiplies every operation count (the soak's bigger episodes); default 1.</summary>
    private static readonly int Scale =
        int.TryParse(Environment.GetEnvironmentVariable("UNDERSTUDY_CONVERGENCE_SCALE"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int s) && s > 0 ? s : 1;

    public bool HasFailover => Steps.Any(st => st.Fault == Fault.Failover);

    public static ConvergenceEpisode FromSeed(long seed)
    {
        var (initial, during, churnSeed, steps) = Plan.Generate(new PCG(1, (ulong)seed), null, out _);
        var (tail, clientSeed) = FailoverTail.Generate(new PCG(2, (ulong)seed), null, out _);
        return new ConvergenceEpisode(seed, initial * Scale, during, churnSeed,
            [.. steps.Concat(tail).Select(st => st with { Ops = st.Ops * Scale })], clientSeed);
    }

    public override string ToString() =>
        $"seed {Seed.ToString(CultureInfo.InvariantCulture)}: {InitialOps.ToString(CultureInfo.InvariantCulture)} operations before the job" +
        (ChurnDuringMirror ? ", churn during the mirror" : "") + "; " + string.Join("; ", Steps);
}
