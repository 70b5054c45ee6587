using Understudy.Core.Jobs;

namespace Understudy.Agent.Failover;

/// <summary>What the engine does after one round of probes.</summary>
internal enum FailoverAction
{
    /// <summary>Nothing changes.</summary>
    None,
    /// <summary>An address stopped answering: protecting → suspect.</summary>
    Suspect,
    /// <summary>Every address answers again (or enough of them for policy all): back to protecting, a dismissal is forgotten.</summary>
    Recover,
    /// <summary>The source is gone and the trigger is manual: wait for an operator.</summary>
    RaisePending,
    /// <summary>The source is gone and the trigger is automatic: take over now.</summary>
    FailOver,
}

/// <summary>The monitor's settings that the decision reads.</summary>
internal sealed record DecisionSettings(int Misses, MonitorPolicy Policy, FailoverTrigger Trigger)
{
    /// <summary>Each watched address's weight, in order, for <see cref="MonitorPolicy.Weight"/>; null: 1 each.</summary>
    public IReadOnlyList<int>? Weights { get; init; }

    /// <summary>For <see cref="MonitorPolicy.Weight"/>: the lost weight at which the source is gone.</summary>
    public int Threshold { get; init; } = 1;

    public static DecisionSettings From(FailoverSpec f) => new(f.Monitor.Misses, f.Monitor.Policy, f.Trigger)
    {
        Weights = [.. f.Monitor.Addresses.Select(a => a.Weight)],
        Threshold = f.Monitor.Threshold ?? 1,
    };

    public int WeightOf(int i) => Weights is { } w && i < w.Count ? w[i] : 1;
}

/// <summary>The outcome: the action, the next state and whether an operator's dismissal still holds.</summary>
internal sealed record Decision(FailoverAction Action, FailoverState Next, bool Dismissed, string Reason);

/// <summary>An operator's request: fail over now, or dismiss a pending fail-over.</summary>
internal enum OperatorCommand
{
    FailOver,
    Dismiss,
}

/// <summary>
/// The fail-over decision as pure functions: observations (consecutive misses per watched address)
/// + settings + current state → next action. No clock, no I/O, so every rule is tested directly
/// (tests/Understudy.Agent.Tests/Failover/FailoverDecisionTests.cs); a witness will add an input here.
/// </summary>
internal static class FailoverDecider
{
    public static Decision Decide(FailoverState state, IReadOnlyList<int> misses, DecisionSettings settings, bool dismissed)
    {
        // Once the identity moved (or is moving), only an operator (fail-back) changes the state.
        if (!state.IsMonitored())
            return new Decision(FailoverAction.None, state, dismissed, "");
        if (misses.Count == 0)
            return new Decision(FailoverAction.None, state, dismissed, "no address is watched");
        int lost = misses.Count(m => m >= settings.Misses);
        int missing = misses.Count(m => m > 0);
        int lostWeight = Enumerable.Range(0, misses.Count).Where(i => misses[i] >= settings.Misses).Sum(settings.WeightOf);
        bool gone = settings.Policy switch
        {
            MonitorPolicy.Any => lost > 0,
            MonitorPolicy.Weight => lostWeight >= settings.Threshold,
            _ => lost == misses.Count,
        };
        if (gone)
        {
            var why = settings.Policy switch
            {
                MonitorPolicy.Any => $"{lost} of {misses.Count} watched addresses lost ({settings.Misses} consecutive misses; policy any)",
                MonitorPolicy.Weight => $"{lost} of {misses.Count} watched addresses lost, weight {lostWeight} of threshold {settings.Threshold} ({settings.Misses} consecutive misses; policy weight)",
                _ => $"all {misses.Count} watched addresses lost ({settings.Misses} consecutive misses; policy all)",
            };
            // A dismissal holds for this outage: the source has to come back before the monitor may trigger again.
            if (dismissed)
                return new Decision(FailoverAction.None, state, true, why + "; dismissed by an operator");
            // Pending waits for an operator whatever the trigger: it is also where an aborted fail-over
            // lands, and retrying that by itself every interval would flap the identity.
            if (state == FailoverState.Pending)
                return new Decision(FailoverAction.None, state, false, why);
            return settings.Trigger == FailoverTrigger.Automatic
                ? new Decision(FailoverAction.FailOver, FailoverState.FailingOver, false, why)
                : new Decision(FailoverAction.RaisePending, FailoverState.Pending, false, why);
        }
        if (missing > 0)
        {
            var why = $"{missing} of {misses.Count} watched addresses not answering";
            return state switch
            {
                FailoverState.Protecting => new Decision(FailoverAction.Suspect, FailoverState.Suspect, dismissed, why),
                // The outage shrank below the policy (e.g. one of two addresses back under policy all): no longer pending.
                FailoverState.Pending => new Decision(FailoverAction.Suspect, FailoverState.Suspect, dismissed, why),
                _ => new Decision(FailoverAction.None, state, dismissed, why),
            };
        }
        return state == FailoverState.Protecting && !dismissed
            ? new Decision(FailoverAction.None, state, false, "")
            : new Decision(FailoverAction.Recover, FailoverState.Protecting, false, "every watched address answers");
    }

    /// <summary>An operator's command in a state: the decision, or why it is refused.</summary>
    public static (Decision? Decision, string? Refusal) Command(FailoverState state, OperatorCommand command, bool dismissed)
    {
        switch (command)
        {
            case OperatorCommand.FailOver when state.IsMonitored():
                return (new Decision(FailoverAction.FailOver, FailoverState.FailingOver, false, state == FailoverState.Pending
                    ? "fail-over confirmed by an operator" : "fail-over requested by an operator"), null);
            case OperatorCommand.FailOver when state == FailoverState.FailingOver:
                return (null, "a fail-over is already running");
            case OperatorCommand.FailOver:
                return (null, $"the job is {state.Name()}: it already holds the source's identity");
            case OperatorCommand.Dismiss when state is FailoverState.Pending or FailoverState.Suspect:
                return (new Decision(FailoverAction.Recover, FailoverState.Protecting, true, "fail-over dismissed by an operator"), null);
            case OperatorCommand.Dismiss when state == FailoverState.Protecting:
                return (null, "no fail-over is pending");
            default:
                return (null, $"the job is {state.Name()}: nothing to dismiss (use fail-back to return the identity)");
        }
    }

    /// <summary>
    /// Time until the monitor would act (fail over, or raise pending when manual), counting whole
    /// probe intervals from now; null when it would not act even if nothing answered again (not monitored, or dismissed).
    /// </summary>
    public static TimeSpan? TimeLeft(FailoverState state, IReadOnlyList<int> misses, DecisionSettings settings, TimeSpan interval, bool dismissed)
    {
        if (!state.IsMonitored() || dismissed || misses.Count == 0 || state == FailoverState.Pending)
            return state == FailoverState.Pending ? TimeSpan.Zero : null;
        var left = misses.Select(m => Math.Max(0, settings.Misses - m)).ToList();
        int probes = settings.Policy switch
        {
            MonitorPolicy.Any => left.Min(),
            MonitorPolicy.Weight => ProbesToThreshold(left, settings),
            _ => left.Max(),
        };
        return interval * probes;
    }

    /// <summary>Policy weight: the fewest probes after which the addresses lost by then weigh the threshold, if none answers again.</summary>
    private static int ProbesToThreshold(IReadOnlyList<int> left, DecisionSettings settings)
    {
        int weight = 0;
        foreach (var i in Enumerable.Range(0, left.Count).OrderBy(i => left[i]))
        {
            weight += settings.WeightOf(i);
            if (weight >= settings.Threshold)
                return left[i];
        }
        return left.Max();
    }
}
