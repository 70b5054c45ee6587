using Understudy.Agent.Identity;

namespace Understudy.Agent.Failover;

internal sealed partial class StepRunner
{
    /// <summary>
    /// The steps of <paramref name="plan"/> the journal shows applied (with or without a warning), in order, each with
    /// its journal context: its scratch data (e.g. the own addresses a mode-replace take-over gave up), saved back to
    /// the same journal row if the step writes it again. For keeping what they set up (<see cref="IdentityKeeper"/>);
    /// the rows stay applied, so fail-back still reverts exactly them.
    /// </summary>
    public IReadOnlyList<(IFailoverStep Step, StepContext Context)> Applied(IReadOnlyList<IFailoverStep> plan) =>
        [.. LoadJournal(plan).Where(j => IsDone(j.Value)).OrderBy(j => j.Key).Select(j => (plan[j.Key], Context(j.Value)))];
}
