using Understudy.Agent.Identity;

namespace Understudy.Agent.Failover;

/// <summary>What one pass of <see cref="IdentityKeeper"/> found (<see cref="Drifted"/>: what is missing) and did (<see cref="Repaired"/>: step names), in words for an event.</summary>
/// <see cref="Warnings"/>: an announcement that could not be sent (clients find the address later; the identity is held).
internal sealed record KeepResult(IReadOnlyList<string> Drifted, IReadOnlyList<string> Repaired, IReadOnlyList<string> Failed, IReadOnlyList<string> Warnings)
{
    public bool Held => Failed.Count == 0;
}

/// <summary>
/// Keeps the identity a target holds true (issue 20, item 4). An address added with `ip addr add` is lost when the
/// host reboots or a network manager rewrites the interface, and configuration management may rewrite smb.conf; the
/// take-over's journal still says applied. So every monitor interval each applied step that holds something
/// (<see cref="IHeldStep"/>) is asked whether it is still there, and one that drifted is applied again — the same
/// idempotent apply, duplicate address detection included: an address that answers elsewhere is never taken, the pass
/// reports it failed instead. A re-added address is announced again (its <see cref="GarpStep"/>). With
/// <c>all</c> (the first pass after the agent starts) every held step and every announcement runs whether it drifted
/// or not: after a reboot smbd, Ganesha and the neighbours' ARP caches may all have missed what the journal says.
/// Scripts and the stop of replication are not run again: they are actions, not state.
/// </summary>
internal sealed class IdentityKeeper(StepRunner runner)
{
    /// <summary>Checks every held step, tells <paramref name="drifting"/> what drifted (before anything is repaired, so events come in order), then repairs.</summary>
    public async Task<KeepResult> KeepAsync(IReadOnlyList<IFailoverStep> plan, bool all, Action<IReadOnlyList<string>> drifting, CancellationToken ct)
    {
        var applied = runner.Applied(plan);
        var drifts = new Dictionary<IFailoverStep, string>();
        foreach (var (step, ctx) in applied)
        {
            if (step is not IHeldStep held)
                continue;
            try
            {
                if (await held.DriftAsync(ctx, ct) is { } drift)
                    drifts[step] = drift;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                drifts[step] = $"{step.Name}: could not be checked ({e.Message})";
            }
        }
        if (drifts.Count > 0)
            drifting([.. drifts.Values]);
        var repaired = new List<string>();
        var failed = new List<string>();
        var warnings = new List<string>();
        var readded = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (step, ctx) in applied)
        {
            if (step is GarpStep garp)
            {
                if (all || readded.Contains(garp.Address.Cidr))
                    await ApplyAsync(step, ctx, warnings, ct);
            }
            else if (step is IHeldStep && (all || drifts.ContainsKey(step)) && await ApplyAsync(step, ctx, failed, ct))
            {
                if (drifts.ContainsKey(step))
                    repaired.Add(step.Name);
                if (step is AddressStep a)
                    readded.Add(a.Address.Cidr);
            }
        }
        return new KeepResult([.. drifts.Values], repaired, failed, warnings);
    }

    private static async Task<bool> ApplyAsync(IFailoverStep step, StepContext ctx, List<string> failures, CancellationToken ct)
    {
        try
        {
            await step.ApplyAsync(ctx, ct);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            failures.Add($"{step.Name}: {e.Message}");
            return false;
        }
    }
}
