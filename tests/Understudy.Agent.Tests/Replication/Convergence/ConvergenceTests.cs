using System.Globalization;
using Understudy.Agent.Tests.Replication.Faults.Support;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.Agent.Tests.Replication.Convergence;

/// <summary>
/// Idle means identical: random, seeded episodes of churn and faults (kill -9 of either agent, link cuts, pauses,
/// restarts, a fail-over with clients writing on the target, then restore and fail-back) against real agents, and after
/// every idle point the trees compared by an independent walker. Every test run plays the regression seeds; fresh seeds
/// (<see cref="ConvergenceSeeds.DefaultCount"/> by default, from the commit, see <see cref="ConvergenceSeeds"/>) play too
/// unless UNDERSTUDY_CONVERGENCE_SEEDS is 0 (<see cref="RandomSeedsFactAttribute"/>). A failing seed is printed with its plan, churn log and trace,
/// and its replay command; it becomes a case of <see cref="Regressions"/> once fixed.
/// Settings (environment): UNDERSTUDY_CONVERGENCE_SEEDS = how many fresh seeds (0: none);
/// UNDERSTUDY_CONVERGENCE_FROM = the first of them (default: from the commit, printed); UNDERSTUDY_CONVERGENCE_BUDGET_S =
/// stop starting new seeds after this many seconds; UNDERSTUDY_CONVERGENCE_LANES = lanes;
/// UNDERSTUDY_CONVERGENCE_DUMP = a directory where a failing seed's whole agent logs are written (every trace line).
/// bench/convergence-soak.sh runs it for longer.
/// </summary>
[Collection(nameof(ReplicationFaultsCollection))]
public sealed class ConvergenceTests(ITestOutputHelper output)
{
    /// <summary>Seeds that once diverged, kept as fixed cases (what each found is in the commit that fixed it).</summary>
    public static TheoryData<long> Regressions => new()
    {
        100, // root directory mtime after the first mirror; xattr and same-size rewrite made while the source was stopped
        301, // hard-link group split: a walk for a file's other names missed one whose directory was being renamed
        304, // the same, after a link cut
        403, // same-size rewrite with the old mtime while the source agent was killed
        513, // idle reported while the last changes were still in the kernel's queue
        107, // a fail-over with client changes on the target, restore, fail-back, then churn on the source (the restore's
             // size-and-mtime defect is pinned by RestoreUnchangedSizeAndMtimeTests; this seed keeps the cycle played)
        203, // rename onto debris, resync through later renames; then, now and then, hard-linked files of the same size with
             // older content (a link made to the target's old copy: the fingerprint had no ctime)
        205, // changes lost with a kernel overflow while the catch-up raced renames: a hard-link group, same-size rewrites
        300, // the same, an xattr change (a mirror covered unacknowledged records it could not see)
        405, // the same
        706, // a catch-up after lost events covered a queued xattr removal and a same-size rewrite with the old mtime
        730, // a hard link renamed while the group's content was sent ahead of the queue: the name left separate
        745, // a name linked ahead of the queue, left out of the group by the renames queued before it
        773, // a write through a hard link removed at once, the second time for the file: its other name was not looked for
        794, // a group's names moved after the walk that found them: the recheck did not walk again
        2434, // truncate(2) through a hard link's name, the name removed before the write settled: the change was lost
        2446, // the same, without a fault
        2441, // a tree moved in and sent ahead, then a queued rename of a directory onto a name in it: a hard-link group split
        3059, // a target kill left a tree's directories without its files; the replay sent the renamed tree as it was then and
              // a queued move carried the empty copy of a subdirectory on (files missing; once in six runs alone)
        3092, // (inotify) a file made in a directory renamed before the file's Upsert was sent: the rename re-sent it, the target
              // died before that rename was durable, and the replayed rename no longer knew to send it (SenderMemoryTests)
        507199827, // (inotify) a directory renamed into one made just before: its own watches kept reporting under the old
                   // name after the unpaired IN_MOVED_FROM, and the target made the old name's directories again (passed alone)
        593202836, // a file rewritten at its size with the old mtime put back, its tree renamed before its Upsert went: the
                   // tree's resync compared size and mtime (SenderMemoryTests; passed alone before the fix too)
        593203846, // (inotify, on f9ef0b8, before 4c5249e) a replayed rename onto a directory the first mirror had filled:
                   // a symlink the mirror sent there was removed and never asked for again (passes on 4c5249e and later)
        600300002, // (inotify) a mirror linked a hard link's second name to its first, which another file had been renamed
                   // over since the walk: the target's second name held the other file (SenderMemoryTests)
        612000008, // idle reported while a hard-link recheck's links were being applied: its barrier's wait was completed by
                   // the ack of an earlier barrier of the same seq (BarrierAckTests; passed alone before the fix too)
        5012, // a tree moved in while paused, renamed, resynced under its new name; a subdirectory renamed out of it before was
              // carried on as the stub a queued rename into it had made (a file missing; diverged alone)
    };

    [Theory]
    [MemberData(nameof(Regressions))]
    public async Task RegressionSeed_AtEveryIdlePoint_TheTargetIsTheSource(long seed)
    {
        await using var rig = await ConvergenceRig.StartAsync();
        var failure = await ConvergenceRun.PlayAsync(rig, ConvergenceEpisode.FromSeed(seed), output);
        Assert.True(failure is null, failure);
    }

    /// <summary>The fresh seeds' time cap per run, in seconds: a run stops starting new seeds after it (the seeds under
    /// way finish). CI's two passes must stay within about 8 minutes together. A seed took 8–10 s in one lane on a
    /// moderately loaded machine, 25 seeds should then take 2–3 minutes in 3 lanes; on a machine as overloaded as the
    /// shared development VM (a minute a seed) the cap plays fewer seeds rather than holding CI up
    /// (docs/performance.md, "Convergence").</summary>
    private const int DefaultBudgetSeconds = 200;

    /// <summary>Agent pairs playing seeds side by side: a seed spends most of its time waiting (for idle, for an agent
    /// to start), so more lanes than cores pays.</summary>
    private const int DefaultLanes = 3;

    [RandomSeedsFact]
    public async Task RandomSeeds_AtEveryIdlePoint_TheTargetIsTheSource()
    {
        int count = Setting("UNDERSTUDY_CONVERGENCE_SEEDS", ConvergenceSeeds.DefaultCount);
        var (from, why) = ConvergenceSeeds.First();
        var budget = TimeSpan.FromSeconds(Setting("UNDERSTUDY_CONVERGENCE_BUDGET_S", DefaultBudgetSeconds));
        int lanes = Math.Clamp(Setting("UNDERSTUDY_CONVERGENCE_LANES", DefaultLanes), 1, 8);
        output.WriteLine($"seeds {from}..{from + count - 1} ({why}; UNDERSTUDY_CONVERGENCE_FROM={from} replays them) in {lanes} lanes, "
            + $"capture {(ConvergenceRun.Inotify ? "inotify" : "fanotify")}, at most {budget.TotalSeconds} s");
        var started = DateTime.UtcNow;
        var failed = new List<long>();
        int played = 0;
        long next = from;
        var gate = new object();

        // Each lane is a pair of agents of its own; the seeds are dealt out as lanes come free. A seed's output is
        // written in one piece, so lanes do not interleave their lines.
        async Task LaneAsync()
        {
            await using var rig = await ConvergenceRig.StartAsync();
            while (true)
            {
                long seed;
                lock (gate)
                {
                    if (next >= from + count || DateTime.UtcNow - started >= budget)
                        return;
                    seed = next++;
                }
                var episode = ConvergenceEpisode.FromSeed(seed);
                var t0 = DateTime.UtcNow;
                var buffer = new BufferedOutput();
                var phases = new List<string>();
                var failure = await ConvergenceRun.PlayAsync(rig, episode, buffer, phases);
                buffer.WriteLine($"{(failure is null ? "ok  " : "FAIL")} {episode} ({ConvergenceRig.Seconds(DateTime.UtcNow - t0)} s: {string.Join(", ", phases)})");
                if (failure is not null)
                    buffer.WriteLine($"replay: {ConvergenceSeeds.Replay(seed)}");
                output.WriteLine(buffer.Text.TrimEnd());
                lock (gate)
                {
                    played++;
                    if (failure is not null)
                        failed.Add(seed);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, lanes).Select(_ => LaneAsync()));
        output.WriteLine($"{played} seeds in {ConvergenceRig.Seconds(DateTime.UtcNow - started)} s, {failed.Count} diverged");
        failed.Sort();
        Assert.True(failed.Count == 0,
            $"{failed.Count} of {played} fresh seeds diverged: {string.Join(", ", failed)} (plan, differences, churn log and agent trace of each in the output). "
            + $"Replay one alone:\n{string.Join("\n", failed.Select(ConvergenceSeeds.Replay))}\n"
            + $"(it ran in {lanes} lanes beside other tests: one that passes alone may still be real; keep it as a regression seed once found)");
        Assert.True(played >= Math.Min(count, 10), $"only {played} seeds ran within {budget.TotalSeconds} s (UNDERSTUDY_CONVERGENCE_BUDGET_S)");
    }

    /// <summary>Collects a seed's lines, to be written at once.</summary>
    private sealed class BufferedOutput : ITestOutputHelper
    {
        private readonly System.Text.StringBuilder _text = new();

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

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : fallback;
}

/// <summary>
/// Fresh seeds play in every test run (<see cref="ConvergenceSeeds.DefaultCount"/>, CI's two passes twice that);
/// UNDERSTUDY_CONVERGENCE_SEEDS=0 skips them (e.g. a quick local run that wants only the regression seeds).
/// </summary>
public sealed class RandomSeedsFactAttribute : FactAttribute
{
    public RandomSeedsFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("UNDERSTUDY_CONVERGENCE_SEEDS") == "0")
            Skip = "fresh random seeds switched off: UNDERSTUDY_CONVERGENCE_SEEDS=0";
    }
}
