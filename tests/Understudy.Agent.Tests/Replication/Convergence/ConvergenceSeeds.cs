using System.Diagnostics;
using System.Globalization;

namespace Understudy.Agent.Tests.Replication.Convergence;

/// <summary>
/// Which fresh seeds a run of <see cref="ConvergenceTests.RandomSeeds_AtEveryIdlePoint_TheTargetIsTheSource"/> plays,
/// and how to replay one. By default the first seed comes from the commit checked out (HEAD of the git checkout above
/// the test assembly, at run time): every commit CI runs on plays seeds no commit before it played (almost surely: 25
/// in 900 million), and running it again on the same commit plays the same seeds (a divergence seen once can be told
/// from one that comes back). The inotify pass of <c>.ci/run</c> plays the range 1,000 after the fanotify pass', so one
/// CI run covers twice the seeds. Without a git checkout the first seed is random.
/// Whatever chose it, the first seed is printed, and a failure names each diverged seed with its replay command.
/// </summary>
internal static class ConvergenceSeeds
{
    /// <summary>Fresh seeds per test run by default (CI's two passes play 2 × this many); UNDERSTUDY_CONVERGENCE_SEEDS.</summary>
    public const int DefaultCount = 25;

    /// <summary>The inotify pass starts this far after the fanotify pass, so the two never play the same seed.</summary>
    private const long InotifyOffset = 1_000;

    /// <summary>The first seed and where it came from (printed with it).</summary>
    public static (long From, string Why) First()
    {
        if (long.TryParse(Environment.GetEnvironmentVariable("UNDERSTUDY_CONVERGENCE_FROM"), NumberStyles.Integer, CultureInfo.InvariantCulture, out long set))
            return (set, "UNDERSTUDY_CONVERGENCE_FROM");
        long offset = ConvergenceRun.Inotify ? InotifyOffset : 0;
        if (Commit() is { } commit)
        {
            // 10,000 and up: clear of the seeds the regression cases and the batches in docs/performance.md name.
            long fromCommit = (long)(Convert.ToUInt32(commit[..8], 16) % 900_000_000) + 10_000;
            return (fromCommit + offset, $"commit {commit[..12]}{(offset == 0 ? "" : ", inotify range")}");
        }
        return (Random.Shared.Next(10_000, 900_000_000), "random: no git checkout");
    }

    /// <summary>The command that plays <paramref name="seed"/> alone with this run's settings.</summary>
    public static string Replay(long seed)
    {
        var env = new List<string>();
        if (ConvergenceRun.Inotify)
            env.Add("UNDERSTUDY_CAPTURE=inotify");
        if (Environment.GetEnvironmentVariable("UNDERSTUDY_CONVERGENCE_SCALE") is { Length: > 0 } scale)
            env.Add($"UNDERSTUDY_CONVERGENCE_SCALE={scale}");
        env.Add("UNDERSTUDY_CONVERGENCE_SEEDS=1");
        env.Add($"UNDERSTUDY_CONVERGENCE_FROM={seed.ToString(CultureInfo.InvariantCulture)}");
        env.Add("UNDERSTUDY_CONVERGENCE_LANES=1");
        env.Add("UNDERSTUDY_CONVERGENCE_DUMP=/tmp/understudy-convergence");
        return string.Join(' ', env) + " dotnet test tests/Understudy.Agent.Tests --filter \"FullyQualifiedName~ConvergenceTests.RandomSeeds\" --logger \"console;verbosity=detailed\"";
    }

    /// <summary>HEAD of the git checkout above the test assembly, or null (no checkout, no git).</summary>
    private static string? Commit()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !Path.Exists(Path.Combine(dir.FullName, ".git")))
            dir = dir.Parent;
        if (dir is null)
            return null;
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", ["-C", dir.FullName, "rev-parse", "HEAD"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (git is null)
                return null;
            var head = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            return git.ExitCode == 0 && head.Length >= 12 && head.All(Uri.IsHexDigit) ? head : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
