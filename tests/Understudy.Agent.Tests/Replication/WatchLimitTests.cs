using System.Globalization;
using System.Text.Json.Nodes;
using Understudy.Agent.Events;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Replication;

/// <summary>
/// The inotify watch limit, exhausted for real. The source agent runs in a user namespace of its own whose
/// <c>/proc/sys/user/max_inotify_watches</c> is lowered to a handful: the limit is per user namespace, so
/// nothing else on the machine is touched (lowering fs.inotify.max_user_watches would starve every other
/// root process). In that namespace fanotify's filesystem mark is not allowed, so the agent uses inotify.
/// </summary>
public sealed class WatchLimitTests
{
    private const int Limit = 8;

    [WatchLimitFact]
    public async Task WatchLimitReached_StatusNamesTheSysctl_AndTheMirrorStillCoversTheTree()
    {
        await using var pair = new AgentPair();
        pair.Source.Wrapper.AddRange(["unshare", "--user", "--map-root-user", "sh", "-c",
            $"echo {Limit} > /proc/sys/user/max_inotify_watches && exec \"$0\" \"$@\""]);
        await pair.StartAsync();
        // 3 × 10 directories, far more than the limit, each with a file.
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 10; j++)
            {
                var d = Path.Combine(pair.SourceData, $"top{i}", $"sub{j}");
                Directory.CreateDirectory(d);
                await File.WriteAllTextAsync(Path.Combine(d, "f.txt"), $"{i}/{j}");
            }
        }

        await pair.ApplyAsync(pair.JobYaml());
        await pair.WaitMirroredAsync();
        JsonNode? replication = null;
        await Wait.UntilAsync(async () =>
        {
            var status = JsonNode.Parse((await pair.Source.CliAsync("status", "job1", "--json")).Stdout);
            replication = (status?["jobs"] as JsonArray)?.FirstOrDefault()?["replication"] ?? status?["replication"];
            return replication?["watch"]?["error"] is not null;
        }, TimeSpan.FromSeconds(30), "the watch-limit error in the status");

        Assert.Equal("inotify", (string?)replication!["captureMethod"]);
        string error = (string)replication["watch"]!["error"]!;
        Assert.Contains("sysctl fs.inotify.max_user_watches=", error, StringComparison.Ordinal);
        Assert.Contains("not watched", error, StringComparison.Ordinal);
        long watched = (long)replication["watch"]!["directoriesWatched"]!;
        Assert.True(watched <= Limit, $"{watched} directories watched with a limit of {Limit}");
        // What could not be watched was still mirrored: the target has the whole tree.
        var verify = await pair.Source.CliAsync("verify", "job1", "--checksum");
        Assert.True(verify.ExitCode == 0, verify.Stdout + verify.Stderr);
        // The message names the setting to raise: that is the point of it.
        Assert.Contains(await pair.Source.EventsAsync("job1"), e => e.Code() == EventCode.CaptureLost && e.Message().Contains("max_user_watches", StringComparison.Ordinal));
    }

    /// <summary>
    /// Issue 20, item 5: a subtree past the limit is retried, and once watched (here: the limit raised, from outside the
    /// agent's user namespace) it is read afresh, so what was written there while it was not watched arrives, and what
    /// is written there afterwards arrives through its watch. Before, it was never watched nor read again.
    /// </summary>
    [WatchLimitFact]
    public async Task UnwatchedSubtrees_LimitRaised_WatchedAgain_AndWhatWasWrittenThereArrives()
    {
        await using var pair = await StartLimitedAsync();
        var dirs = AllSubdirectories(pair);
        // Written while most of these directories have no watch.
        foreach (var d in dirs)
            await File.WriteAllTextAsync(Path.Combine(d, "while-unwatched.txt"), d);

        await RaiseWatchLimitAsync(pair.Source.Pid, 100_000);
        await WaitArrivedAsync(pair, dirs, "while-unwatched.txt", "written while unwatched, after the limit was raised");
        JsonNode? watch = null;
        await Wait.UntilAsync(async () => (watch = await WatchStatusAsync(pair))?["unwatchedCount"] is JsonValue v && (int)v == 0,
            TimeSpan.FromSeconds(60), "no directory left unwatched in the status");
        Assert.True((long)watch!["directoriesWatched"]! > Limit, watch.ToJsonString());
        var events = await pair.Source.EventsAsync("job1");
        Assert.Contains(events, e => e.Code() == EventCode.CaptureSubtreeResync);

        // Watched now: a change there arrives through its watch (no scan runs any more: nothing is unwatched).
        foreach (var d in dirs)
            await File.WriteAllTextAsync(Path.Combine(d, "after.txt"), d);
        await WaitArrivedAsync(pair, dirs, "after.txt", "written after the watches were placed");
    }

    /// <summary>
    /// While the limit lasts, the unwatched subtrees are listed in the status (and event 820) and scanned for changes
    /// every interval: a file written there arrives anyway (a difference mirror of the subtree that changed).
    /// </summary>
    [WatchLimitFact]
    public async Task UnwatchedSubtrees_LimitKept_AreListed_AndChangesThereArriveByTheScan()
    {
        await using var pair = await StartLimitedAsync();
        var dirs = AllSubdirectories(pair);
        foreach (var d in dirs)
            await File.WriteAllTextAsync(Path.Combine(d, "scanned.txt"), d);
        await WaitArrivedAsync(pair, dirs, "scanned.txt", "written into unwatched subtrees, found by the scan");

        JsonNode? watch = null;
        await Wait.UntilAsync(async () => (watch = await WatchStatusAsync(pair))?["unwatchedCount"] is JsonValue v && (int)v > 0,
            TimeSpan.FromSeconds(60), "the unwatched directories in the status");
        var listed = watch!["unwatched"]!.AsArray().Select(n => (string)n!).ToList();
        Assert.NotEmpty(listed);
        Assert.All(listed, p => Assert.StartsWith(pair.SourceData, p, StringComparison.Ordinal));
        await Wait.UntilAsync(async () => (await pair.Source.EventsAsync("job1")).Any(e => e.Code() == EventCode.CaptureUnwatched),
            TimeSpan.FromSeconds(60), "event 820");
    }

    private static async Task<AgentPair> StartLimitedAsync()
    {
        var pair = new AgentPair();
        pair.Source.Wrapper.AddRange(["unshare", "--user", "--map-root-user", "sh", "-c",
            $"echo {Limit} > /proc/sys/user/max_inotify_watches && exec \"$0\" \"$@\""]);
        pair.Source.Environment["UNDERSTUDY_WATCH_RETRY_MS"] = "1000";
        await pair.StartAsync();
        foreach (var d in AllSubdirectories(pair))
        {
            Directory.CreateDirectory(d);
            await File.WriteAllTextAsync(Path.Combine(d, "f.txt"), d);
        }
        await pair.ApplyAsync(pair.JobYaml());
        await pair.WaitMirroredAsync();
        return pair;
    }

    /// <summary>3 × 10 directories, far more than the limit.</summary>
    private static List<string> AllSubdirectories(AgentPair pair) =>
        [.. from i in Enumerable.Range(0, 3) from j in Enumerable.Range(0, 10) select Path.Combine(pair.SourceData, $"top{i}", $"sub{j}")];

    private static async Task WaitArrivedAsync(AgentPair pair, List<string> dirs, string name, string what) =>
        await Wait.UntilAsync(() => dirs.All(d =>
        {
            var t = Path.Combine(pair.TargetData, Path.GetRelativePath(pair.SourceData, d), name);
            return File.Exists(t) && File.ReadAllText(t) == d;
        }), TimeSpan.FromSeconds(90), $"every {name} on the target ({what})");

    private static async Task<JsonNode?> WatchStatusAsync(AgentPair pair)
    {
        var status = JsonNode.Parse((await pair.Source.CliAsync("status", "job1", "--json")).Stdout);
        var replication = (status?["jobs"] as JsonArray)?.FirstOrDefault()?["replication"] ?? status?["replication"];
        return replication?["watch"];
    }

    /// <summary>The limit is per user namespace: raised from inside the agent's (entered from outside, as root).</summary>
    private static async Task RaiseWatchLimitAsync(int pid, int limit)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("nsenter", ["--user", "--target", pid.ToString(CultureInfo.InvariantCulture), "sh", "-c",
            $"echo {limit} > /proc/sys/user/max_inotify_watches"])
        {
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var err = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, $"nsenter: {err}");
    }

    internal static bool CanLowerWatchLimit(out string why)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("unshare", ["--user", "--map-root-user", "sh", "-c", "echo 5 > /proc/sys/user/max_inotify_watches"])
        {
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        try
        {
            using var p = System.Diagnostics.Process.Start(psi)!;
            why = p.StandardError.ReadToEnd().Trim();
            p.WaitForExit();
            why = p.ExitCode == 0 ? "" : why + " (exit " + p.ExitCode.ToString(CultureInfo.InvariantCulture) + ")";
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            why = e.Message;
            return false;
        }
    }
}

/// <summary>Skips, with the reason, where user namespaces are disabled (never on CI, which runs as root on Debian).</summary>
public sealed class WatchLimitFactAttribute : FactAttribute
{
    public WatchLimitFactAttribute()
    {
        if (!WatchLimitTests.CanLowerWatchLimit(out var why))
            Skip = $"cannot lower the inotify watch limit in a user namespace (unshare --user --map-root-user): {why}";
    }
}
