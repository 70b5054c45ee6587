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
