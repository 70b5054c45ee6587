using System.Globalization;
using System.Text;
using Understudy.Agent.Tests.Replication.Faults.Support;
using Xunit.Abstractions;

namespace Understudy.Agent.Tests.Replication.Convergence;

/// <summary>
/// Plays one <see cref="ConvergenceEpisode"/> on a <see cref="ConvergenceRig"/> (a job of its own on fresh directories)
/// and checks the promise at every idle point: once the source says idle, the target is the source, by
/// <see cref="TreeSnapshot"/> (not by the product's own `verify`).
/// </summary>
internal static partial class ConvergenceRun
{
    /// <summary>How long an idle point may take to come; generous, for a busy 2-core machine.</summary>
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(180);

    /// <summary>Kinds of difference left out (UNDERSTUDY_CONVERGENCE_IGNORE=holes,mtime): only to look past one known
    /// defect for the next while investigating; never set in CI.</summary>
    private static readonly string[] Ignored =
        (Environment.GetEnvironmentVariable("UNDERSTUDY_CONVERGENCE_IGNORE") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Null when every idle point had identical trees, else what differed, where, and the episode's log.
    /// <paramref name="phases"/>, when given, gets the seconds each phase took (where a seed's time goes: the CI
    /// budget of the fresh seeds is set from it).</summary>
    public static async Task<string?> PlayAsync(ConvergenceRig rig, ConvergenceEpisode episode, ITestOutputHelper output, List<string>? phases = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        void Phase(string name)
        {
            phases?.Add($"{name} {ConvergenceRig.Seconds(clock.Elapsed)}");
            clock.Restart();
        }

        var job = $"s{episode.Seed.ToString(CultureInfo.InvariantCulture)}";
        var (source, target, outside) = rig.Dirs(job);
        Directory.CreateDirectory(source);
        // The work directory a restore makes in the source's path is the agent's, not the users' (nothing else changes
        // for a plan without a fail-over: the source has none then).
        var churn = new ChurnGenerator(source, outside, episode.ChurnSeed) { Untouched = [WorkDirectory, RestoreDirectory], TransientLinks = !Inotify };
        // The clients who write on the target while it holds the job: names of their own, the agent's work directory left alone.
        var clients = episode.HasFailover
            ? new ChurnGenerator(target, rig.ClientsOutside(job), episode.ClientChurnSeed) { NameTag = "t-", Untouched = [WorkDirectory, RestoreDirectory], TransientLinks = !Inotify }
            : null;
        string? failure;
        try
        {
            churn.Run(episode.InitialOps);
            await rig.ApplyJobAsync(job, episode.HasFailover);
            Phase("apply");
            using (var mirrored = new CancellationTokenSource())
            {
                var during = episode.ChurnDuringMirror ? churn.RunUntilCancelledAsync(mirrored.Token) : Task.FromResult(0);
                var (last, ok) = await rig.WaitAsync(job, ConvergenceRig.Mirrored, IdleTimeout);
                await mirrored.CancelAsync();
                await during;
                failure = ok ? null : $"the first mirror did not complete; state {ConvergenceRig.State(last)}: {last?.ToJsonString()}";
            }
            Phase("mirror");
            failure ??= await CheckAsync(rig, job, source, target, "after the first mirror");
            Phase("idle");
            for (int i = 0; failure is null && i < episode.Steps.Count; i++)
            {
                await StepAsync(rig, job, churn, clients, episode.Steps[i]);
                Phase(episode.Steps[i].Fault.ToString());
                failure = await CheckAsync(rig, job, source, target, $"after step {(i + 1).ToString(CultureInfo.InvariantCulture)} ({episode.Steps[i]})");
                Phase("idle");
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            failure = $"the episode broke: {e}";
        }
        if (failure is not null)
        {
            var text = $"{episode} (job {job})\n{failure}\n{Related(churn, failure)}\n{churn.LogTail(200)}" + (clients is null ? "" : $"\nclients on the target: {clients.LogTail(200)}");
            output.WriteLine(text);
            output.WriteLine((await rig.CliAsync("events", "--job", job, "--limit", "300")).Stdout);
            if (clients is not null)
                output.WriteLine("target events:\n" + (await rig.Agents.Target.CliAsync("events", "--job", job, "--limit", "300")).Stdout);
            var names = Names(failure);
            var above = Ancestors(failure);
            output.WriteLine("source agent trace of those names:\n" + Traced(rig.Agents.Source.Log, job, names, above));
            output.WriteLine("target agent trace of those names:\n" + Traced(rig.Agents.Target.Log, job, names, above));
            if (Environment.GetEnvironmentVariable("UNDERSTUDY_CONVERGENCE_DUMP") is { Length: > 0 } dump)
            {
                // Investigating: the agents' whole logs (every trace line, not only those naming the differing entries).
                Directory.CreateDirectory(dump);
                File.WriteAllText(Path.Combine(dump, $"{job}-source.log"), rig.Agents.Source.Log);
                File.WriteAllText(Path.Combine(dump, $"{job}-target.log"), rig.Agents.Target.Log);
            }
            output.WriteLine("source agent log (tail):\n" + Tail(rig.Agents.Source.Log));
            output.WriteLine("target agent log (tail):\n" + Tail(rig.Agents.Target.Log));
            await rig.RemoveJobAsync(job);
            return text;
        }
        await rig.RemoveJobAsync(job);
        Phase("remove");
        return null;
    }

    /// <summary>Every operation of the churn that named a differing entry (by its last name), oldest first.</summary>
    private static string Related(ChurnGenerator churn, string failure)
    {
        var names = Names(failure);
        var lines = churn.Log.Where(l => names.Any(n => l.Contains(n, StringComparison.Ordinal))).ToList();
        return $"operations on those names ({string.Join(", ", names)}):\n{string.Join('\n', lines)}";
    }

    /// <summary>The last names of the entries a failure text lists as differing.</summary>
    private static List<string> Names(string failure) =>
        failure.Split('\n').Where(l => l.StartsWith("  ", StringComparison.Ordinal) && l.Length > 11)
            .Select(l => l[11..].Split(':', 2)[0].Split(" (", 2)[0].Trim()).Select(p => p.Split('/')[^1])
            .Where(n => n.Length > 1).Distinct().Take(10).ToList();

    /// <summary>The directories above the differing entries, by their whole paths (a rename or removal of one of them
    /// moves or removes the entry without naming it).</summary>
    private static List<string> Ancestors(string failure) =>
        failure.Split('\n').Where(l => l.StartsWith("  ", StringComparison.Ordinal) && l.Length > 11)
            .Select(l => l[11..].Split(':', 2)[0].Split(" (", 2)[0].Trim())
            .SelectMany(p => Enumerable.Range(1, Math.Max(0, p.Split('/').Length - 1)).Select(n => string.Join('/', p.Split('/').Take(n))))
            .Distinct().Take(30).ToList();

    /// <summary>
    /// The agent's operation trace (Understudy.Trace, switched on by the rig) for this job's lines that name one of
    /// <paramref name="names"/>, or one of the directories <paramref name="above"/> them as a whole path (not their
    /// metadata: directories high up get that often), with the job's events between them (reconnects, mirrors): how
    /// each differing entry was sent and applied. The agents are shared by the lanes, so the other lanes' faults show
    /// as agent restarts.
    /// </summary>
    private static string Traced(string log, string job, List<string> names, List<string> above)
    {
        var all = log.Split('\n');
        bool Traced(string l) => l.Contains($"trace {job} ", StringComparison.Ordinal);
        // The inodes of those entries too: a change made through another name, or a name since gone, shows by its inode.
        static IEnumerable<string> Inodes(string l) => System.Text.RegularExpressions.Regex.Matches(l, @"inode \d+\b").Select(m => m.Value);
        var inodes = all.Where(l => Traced(l) && names.Any(n => l.Contains(n, StringComparison.Ordinal))).SelectMany(Inodes).ToHashSet();
        var dirs = above.Count == 0
            ? null
            : new System.Text.RegularExpressions.Regex(@"(?:^|[\s:])(?:" + string.Join('|', above.Select(System.Text.RegularExpressions.Regex.Escape)) + @")(?=$|[\s)])");
        bool NamesDir(string l) => dirs is not null && !l.Contains("DirMeta", StringComparison.Ordinal)
            && !l.Contains("SetMetadata", StringComparison.Ordinal) && dirs.IsMatch(l);
        var lines = all.Where(l =>
            (Traced(l) && (names.Any(n => l.Contains(n, StringComparison.Ordinal)) || Inodes(l).Any(inodes.Contains) || NamesDir(l)))
            || l.Contains($"job={job}:", StringComparison.Ordinal)
            || l.Contains("[agent] job=-: agent", StringComparison.Ordinal)).ToList();
        return string.Join('\n', lines.Count <= 400 ? lines : lines[^400..]);
    }

    private static string Tail(string log)
    {
        var untraced = string.Join('\n', log.Split('\n').Where(l => !l.Contains(" trace s", StringComparison.Ordinal)));
        return untraced.Length <= 12_000 ? untraced : untraced[^12_000..];
    }

    private static async Task StepAsync(ConvergenceRig rig, string job, ChurnGenerator churn, ChurnGenerator? clients, EpisodeStep step)
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
                rig.Proxy.Cut();
                churn.Run(step.Ops);
                rig.Proxy.Restore();
                break;
            case Fault.Pause:
                await rig.ApiAsync(HttpMethod.Post, $"jobs/{job}/pause");
                churn.Run(step.Ops);
                await rig.ApiAsync(HttpMethod.Post, $"jobs/{job}/resume");
                break;
            case Fault.StopSource:
                await agents.Source.StopAsync();
                churn.Run(step.Ops);
                await agents.Source.StartAsync();
                break;
            case Fault.Failover:
                await FailoverAsync(rig, job, clients!, step.Ops);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(step), step.Fault, null);
        }
    }

    /// <summary>Waits for idle, then compares both trees; on a difference, whether it is still there a while later.</summary>
    private static async Task<string?> CheckAsync(ConvergenceRig rig, string job, string source, string target, string when)
    {
        var (last, idle) = await rig.WaitAsync(job, ConvergenceRig.Idle, IdleTimeout);
        if (!idle)
            return $"{when}: not idle after {ConvergenceRig.Seconds(IdleTimeout)} s; state {ConvergenceRig.State(last)}: {last?.ToJsonString()}";
        var diffs = Diff(source, target);
        if (diffs.Count == 0)
            return null;
        // Not identical although idle. Tell a late arrival from a lost change: look again after a while.
        await Task.Delay(TimeSpan.FromSeconds(5));
        var later = Diff(source, target);
        var sb = new StringBuilder($"{when}: idle, yet {diffs.Count.ToString(CultureInfo.InvariantCulture)} differences (source vs target):\n");
        foreach (var d in diffs.Take(60))
            sb.Append("  ").AppendLine(d);
        sb.AppendLine(later.Count == 0 ? "5 s later the trees were identical (idle was reported too early)"
            : $"5 s later still {later.Count.ToString(CultureInfo.InvariantCulture)} differences");
        return sb.ToString();
    }

    /// <summary>An agent's own work directory at the root of every tree it writes into (docs/architecture.md), not
    /// data: of every replica, and of the source's path once a restore has written there. The name is reserved at the
    /// top of a tree (walks never list it, the sender leaves it out), and no churn makes it.</summary>
    private const string WorkDirectory = ".understudy-tmp";

    /// <summary>Where a restore keeps on the source what it replaced or removed (restore.replaced: keep), reserved the
    /// same way: on the source only, never replicated (docs/job-file.md, restore).</summary>
    private const string RestoreDirectory = ".understudy-restore";

    private static bool Ours(string rel) => rel is WorkDirectory or RestoreDirectory;

    /// <summary>The agents capture with inotify: forced (UNDERSTUDY_CAPTURE, which they inherit), or not root.</summary>
    internal static bool Inotify =>
        Environment.GetEnvironmentVariable("UNDERSTUDY_CAPTURE") == "inotify" || !ChurnLibc.IsRoot;

    private static List<string> Diff(string source, string target) =>
        [.. TreeSnapshot.Compare(TreeSnapshot.Take(source, Ours), TreeSnapshot.Take(target, Ours))
            .Where(d => !Ignored.Any(k => d.StartsWith(k + " ", StringComparison.Ordinal)))];
}
