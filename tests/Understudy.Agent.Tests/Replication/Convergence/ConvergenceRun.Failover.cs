using System.Globalization;
using Understudy.Agent.Tests.Replication.Faults.Support;
using Understudy.Testing;

namespace Understudy.Agent.Tests.Replication.Convergence;

/// <summary>The <see cref="Fault.Failover"/> step: the whole cycle an operator runs, as docs/cli.md describes it.</summary>
internal static partial class ConvergenceRun
{
    /// <summary>A restore's first round mirrors the whole replica back; on a busy machine that takes its time.</summary>
    private static readonly TimeSpan FailoverTimeout = TimeSpan.FromSeconds(180);

    /// <summary>
    /// Called at an idle point (the trees were just found equal). The source agent stops (it is "dead"); the target
    /// takes the job over; clients change the replica with every kind of operation, renames of files and directories
    /// included; the source comes back (passive: the target holds the job), `restore` brings it the clients' changes
    /// until in sync, `failback` gives the job back, and the source replicates again (a difference mirror). The next
    /// idle point must find the clients' changes on the source. The source had nothing unacknowledged when it
    /// stopped, so no conflict is expected; a parked file (NAME.understudy-conflict-*) would be a real file on the
    /// source and must replicate like any other, so the comparison makes no exception for it.
    /// </summary>
    private static async Task FailoverAsync(ConvergenceRig rig, string job, ChurnGenerator clients, int ops)
    {
        var agents = rig.Agents;
        // The target learns the job's fail-over settings from the source's OpenJob; only then does `failover` know it.
        await rig.WaitTargetStateAsync(job, FailoverTimeout, "protecting");
        await agents.Target.ApproveFailoverAsync(job, FailoverTimeout);
        await agents.Source.StopAsync();
        var failover = await agents.Target.CliAsync("failover", job);
        if (failover.ExitCode != 0)
            throw new InvalidOperationException($"`failover {job}` on the target: exit {failover.ExitCode}: {failover.Stderr}{failover.Stdout}");
        await rig.WaitTargetStateAsync(job, FailoverTimeout, "failed-over");

        clients.Run(ops);

        await agents.Source.StartAsync();
        var timeout = ((int)FailoverTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        await RunOnTargetAsync(rig, job, "restore", job, "--wait", "--timeout", timeout);
        await RunOnTargetAsync(rig, job, "failback", job);
        await rig.WaitTargetStateAsync(job, FailoverTimeout, "protecting");
        // Forward again: the source leaves passive mode and runs its difference mirror; the idle check comes next.
        var (last, back) = await rig.WaitAsync(job, ConvergenceRig.Mirrored, FailoverTimeout);
        if (!back)
            throw new TimeoutException($"the source did not replicate again within {ConvergenceRig.Seconds(FailoverTimeout)} s of the fail-back; state {ConvergenceRig.State(last)}: {last?.ToJsonString()}");
    }

    /// <summary>A command on the target agent that must succeed; on failure, what it said and the fail-over entry.</summary>
    private static async Task RunOnTargetAsync(ConvergenceRig rig, string job, params string[] args)
    {
        var r = await rig.Agents.Target.CliAsync(args);
        if (r.ExitCode != 0)
            throw new InvalidOperationException(
                $"`{string.Join(' ', args)}` on the target: exit {r.ExitCode}: {r.Stderr}{r.Stdout}\nfail-over entry: {(await rig.TargetFailoverAsync(job))?.ToJsonString() ?? "(none)"}");
    }
}
