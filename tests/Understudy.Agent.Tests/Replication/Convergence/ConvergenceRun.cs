using System.Globalization;
using System.Text;
using Understudy.Agent.Tests.Replication.Faults.Support;
using Xunit.Abstractions;

namespace Understudy.Agent.Tests.Replication.Convergence;

/// <summary>
/// Plays one <see cref="ConvergenceEpisode"/> against real agents (source and target processes, the link through a
/// <see cref="TcpProxy"/> so it can be cut) and checks the promise at every idle point: once `wait --until idle`
/// returns, the target is the source, by <see cref="TreeSnapshot"/> (not by the product's own `verify`).
/// </summary>
internal static class ConvergenceRun
{
    /// <summary>How long an idle point may take to come; generous, for a busy 2-core machine.</summary>
    private const int IdleTimeoutSeconds = 180;

    /// <summary>Null when every idle point had identical trees, else what differed, where, and the episode's log.</summary>
    public static async Task<string?> PlayAsync(ConvergenceEpisode episode, ITestOutputHelper output)
    {
        var log = new BufferedOutput();
        string? failure = null;
        var rig = await ReplicationRig.StartAsync(log, viaProxy: true);
        try
        {
            var churn = rig.NewChurn(episode.ChurnSeed);
            churn.Run(episode.InitialOps);
            await rig.ApplyJobAsync();
            if (episode.ChurnDuringMirror)
            {
                using var mirrored = new CancellationTokenSource();
                var during = churn.RunUntilCancelledAsync(mirrored.Token);
                try
                {
                    await rig.WaitMirroredAsync();
                }
                finally
                {
                    await mirrored.CancelAsync();
                    await during;
                }
            }
            else
            {
                await rig.WaitMirroredAsync();
            }
            failure = await CheckAsync(rig, "after the first mirror");
            for (int i = 0; failure is null && i < episode.Steps.Count; i++)
            {
                await StepAsync(rig, churn, episode.Steps[i]);
                failure = await CheckAsync(rig, $"after step {(i + 1).ToString(CultureInfo.InvariantCulture)} ({episode.Steps[i]})");
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            failure = $"the episode broke: {e}";
        }
        finally
        {
            await rig.DisposeAsync();
        }
        if (failure is null)
            return null;
        var text = $"{episode}\n{failure}\n{rig.Churn?.LogTail(200)}";
        output.WriteLine(text);
        output.WriteLine(log.Text);
        return text;
    }

    private static async Task StepAsync(ReplicationRig rig, ChurnGenerator churn, EpisodeStep step)
    {
        var agents = rig.Agents;
        switch (step.Fault)
        {
            case Fault.None:
                churn.Run(step.Ops);
                break;
            case Fault.KillSource:
                {
                    // Some of the churn races the kill: changes captured or not, queued or not, all must arrive.
                    var racing = churn.RunAsync(step.Ops / 2);
                    agents.Source.Kill();
                    await racing;
                    churn.Run(step.Ops - (step.Ops / 2));
                    await agents.Source.StartAsync();
                    break;
                }
            case Fault.KillTarget:
                {
                    var racing = churn.RunAsync(step.Ops);
                    agents.Target.Kill();
                    await racing;
                    await agents.Target.StartAsync();
                    break;
                }
            case Fault.CutLink:
                rig.Proxy!.Cut();
                churn.Run(step.Ops);
                rig.Proxy.Restore();
                break;
            case Fault.Pause:
                (await agents.Source.CliAsync("pause", ReplicationRig.Job)).EnsureOk();
                churn.Run(step.Ops);
                (await agents.Source.CliAsync("resume", ReplicationRig.Job)).EnsureOk();
                break;
            case Fault.StopSource:
                await agents.Source.StopAsync();
                churn.Run(step.Ops);
                await agents.Source.StartAsync();
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(step), step.Fault, null);
        }
    }

    /// <summary>`wait --until idle`, then both trees compared; on a difference, whether it is still there a while later.</summary>
    private static async Task<string?> CheckAsync(ReplicationRig rig, string when)
    {
        var wait = await rig.Agents.Source.CliAsync("wait", ReplicationRig.Job, "--until", "idle", "--timeout", IdleTimeoutSeconds.ToString(CultureInfo.InvariantCulture));
        if (wait.ExitCode != 0)
            return $"{when}: wait --until idle exited {wait.ExitCode}: {wait.Stderr}{wait.Stdout}\nstatus: {(await rig.Agents.Source.CliAsync("status", ReplicationRig.Job, "--json")).Stdout}";
        var diffs = Diff(rig);
        if (diffs.Count == 0)
            return null;
        // Not identical although idle. Tell a late arrival from a lost change: look again after a while.
        await Task.Delay(TimeSpan.FromSeconds(5));
        var later = Diff(rig);
        var sb = new StringBuilder($"{when}: idle, yet {diffs.Count.ToString(CultureInfo.InvariantCulture)} differences (source vs target):\n");
        foreach (var d in diffs.Take(60))
            sb.Append("  ").AppendLine(d);
        sb.AppendLine(later.Count == 0 ? "5 s later the trees were identical (idle was reported too early)"
            : $"5 s later still {later.Count.ToString(CultureInfo.InvariantCulture)} differences");
        return sb.ToString();
    }

    /// <summary>Kinds of difference left out (UNDERSTUDY_CONVERGENCE_IGNORE=holes,mtime): only to look past one known
    /// defect for the next while investigating; never set in CI.</summary>
    private static readonly string[] Ignored =
        (Environment.GetEnvironmentVariable("UNDERSTUDY_CONVERGENCE_IGNORE") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static List<string> Diff(ReplicationRig rig) =>
        [.. TreeSnapshot.Compare(TreeSnapshot.Take(rig.SourceData), TreeSnapshot.Take(rig.TargetData))
            .Where(d => !Ignored.Any(k => d.StartsWith(k + " ", StringComparison.Ordinal)))];

    /// <summary>Collects a rig's output (agent logs, events) so that only a failing episode prints it.</summary>
    private sealed class BufferedOutput : ITestOutputHelper
    {
        private readonly StringBuilder _text = new();

        public string Text
        {
            get
            {
                lock (_text)
                    return _text.ToString();
            }
        }

        public void WriteLine(string message)
        {
            lock (_text)
                _text.AppendLine(message);
        }

        public void WriteLine(string format, params object[] args) => WriteLine(string.Format(CultureInfo.InvariantCulture, format, args));
    }
}
