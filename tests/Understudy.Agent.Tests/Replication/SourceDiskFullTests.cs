using System.Diagnostics;
using Understudy.Agent.Events;
using Understudy.Agent.Tests.Mirror;
using Understudy.Testing;
using Xunit;

namespace Understudy.Agent.Tests.Replication;

/// <summary>
/// Root-only (a real tmpfs with a size, mounted as the source agent's data directory, then filled): the replication
/// queue and its ack file cannot be written. The job must say so (state error, the reason, an event; `wait` fails at
/// once) instead of dying silently, keep what is queued, and heal by itself once space returns — files written while
/// the disk was full arrive then.
/// </summary>
public sealed class SourceDiskFullTests
{
    [MountFact]
    public async Task Replication_SourceDataDirFull_JobInErrorWithReason_WaitFailsFast_HealsWhenSpaceReturns()
    {
        await using var pair = new AgentPair();
        var mount = pair.Source.DataDir;
        Directory.CreateDirectory(mount);
        await Tmpfs.RunAsync("mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "understudy-test", mount);
        try
        {
            await pair.StartAsync();
            File.WriteAllText(Path.Combine(pair.SourceData, "a.txt"), "before");
            await pair.ApplyAsync(pair.JobYaml());
            await pair.WaitMirroredAsync();
            File.WriteAllText(Path.Combine(pair.SourceData, "b.txt"), "replicated");
            (await pair.Source.CliAsync("wait", "job1", "--until", "idle", "--timeout", "60")).EnsureOk();
            Assert.Equal("replicated", File.ReadAllText(Path.Combine(pair.TargetData, "b.txt")));

            var filler = Path.Combine(mount, "filler");
            Tmpfs.Fill(filler);
            // Written while nothing more fits in the queue: each a change that must reach the target in the end. More
            // records than the queue's last page holds, so capture cannot queue them (not only the ack file fails).
            for (int i = 0; i < Written; i++)
                File.WriteAllText(Path.Combine(pair.SourceData, Name(i)), $"written while full {i}");

            string last = "";
            await WithLogAsync(pair.Source, Wait.UntilAsync(async () =>
            {
                var j = await pair.Source.StatusAsync("job1");
                last = j.ToJsonString();
                return j["state"]?.GetValue<string>() == "error";
            }, TimeSpan.FromSeconds(60), "the job to report the full data directory"), () => last);
            var reason = (await pair.Source.StatusAsync("job1"))["reason"]!.GetValue<string>();
            Assert.Contains("space", reason, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("when space returns", reason, StringComparison.Ordinal);
            var wait = await pair.Source.CliAsync("wait", "job1", "--until", "idle", "--timeout", "30");
            Assert.True(wait.ExitCode == 1, $"wait exit {wait.ExitCode}: {wait.Stdout}{wait.Stderr}");
            Assert.Contains("space", wait.Stderr, StringComparison.OrdinalIgnoreCase);

            File.Delete(filler);
            await WithLogAsync(pair.Source, Wait.UntilAsync(async () =>
                (await pair.Source.CliAsync("wait", "job1", "--until", "idle", "--timeout", "5")).ExitCode == 0,
                TimeSpan.FromSeconds(90), "the job to heal once space returned"), () => last);
            for (int i = 0; i < Written; i++)
                Assert.Equal($"written while full {i}", File.ReadAllText(Path.Combine(pair.TargetData, Name(i))));
            Assert.Equal("replicated", File.ReadAllText(Path.Combine(pair.TargetData, "b.txt")));
            var codes = (await pair.Source.EventsAsync("job1")).Codes().ToList();
            Assert.Contains(EventCode.SourceStorageFault, codes);
            Assert.Contains(EventCode.SourceStorageHealed, codes);
            File.WriteAllText(Path.Combine(pair.SourceData, "after.txt"), "after");
            (await pair.Source.CliAsync("wait", "job1", "--until", "idle", "--timeout", "60")).EnsureOk();
            Assert.Equal("after", File.ReadAllText(Path.Combine(pair.TargetData, "after.txt")));
        }
        finally
        {
            pair.Source.Kill();
            await Tmpfs.RunAsync("umount", "-l", mount);
        }
    }

    private const int Written = 300;

    private static string Name(int i) => $"written-while-the-source-data-directory-was-full-{i:D4}.txt";

    private static async Task WithLogAsync(AgentProcess agent, Task wait, Func<string> last)
    {
        try
        {
            await wait;
        }
        catch (TimeoutException e)
        {
            var events = await agent.CliAsync("events", "--limit", "40");
            throw new TimeoutException($"{e.Message}; last status: {last()}; events: {events.Stdout}; agent log:\n{agent.Log}", e);
        }
    }

    /// <summary>Writes zeros until the file system refuses another byte.</summary>
}
