using Understudy.Agent.Events;
using Understudy.Testing;
using Understudy.Core.Posix;
using Xunit;

namespace Understudy.Agent.Tests.Mirror;

/// <summary>Root-only: the test mounts a small tmpfs to fill the target's disk.</summary>
public sealed class MountFactAttribute : FactAttribute
{
    public MountFactAttribute()
    {
        if (!FsTree.IsRoot)
            Skip = "needs root (euid 0) to mount a small tmpfs as the target's disk";
    }
}

public sealed class DiskFullTests
{
    [MountFact]
    public async Task Mirror_TargetDiskFull_PausesKeepingAppliedFilesIntact_ResumesWhenSpaceReturns()
    {
        await using var pair = new AgentPair();
        await pair.StartAsync();
        var mount = pair.Dir.Sub("small-disk");
        Directory.CreateDirectory(mount);
        await Tmpfs.RunAsync("mount", "-t", "tmpfs", "-o", "size=8m,mode=0755", "understudy-test", mount);
        try
        {
            var targetPath = Path.Combine(mount, "replica");
            // About 26 MiB for an 8 MiB disk.
            var expected = PartialFileWatch.Generate(pair.SourceData, small: 80, bigMiB: [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
            await using var watch = new PartialFileWatch(targetPath, expected);
            await pair.ApplyAsync(pair.JobYaml(targetPath: targetPath));

            string? reason = null;
            string last = "";
            try
            {
                await Wait.UntilAsync(async () =>
                {
                    var j = await pair.Source.StatusAsync("job1"); // `status NAME --json`: that job's object
                    last = j.ToJsonString();
                    reason = j["reason"]?.GetValue<string>();
                    return j["state"]?.GetValue<string>() == "paused";
                }, TimeSpan.FromSeconds(120), "the job to pause on a full disk");
            }
            catch (TimeoutException e)
            {
                var ev = await pair.Source.CliAsync("events", "--job", "job1", "--limit", "50");
                var tev = await pair.Target.CliAsync("events", "--limit", "50");
                throw new TimeoutException($"{e.Message}; last status {last}; source events: {ev.Stdout}; target events: {tev.Stdout}", e);
            }
            Assert.Contains("disk full", reason, StringComparison.Ordinal);
            Assert.Contains(EventCode.MirrorPausedDiskFull, (await pair.Source.EventsAsync("job1")).Codes());
            long passes = watch.Passes;
            await Wait.UntilAsync(() => watch.Passes > passes + 2, TimeSpan.FromSeconds(60), "a scan of the full target");
            Assert.Empty(watch.Violations);

            await Tmpfs.RunAsync("mount", "-o", "remount,size=64m", mount);
            await pair.WaitMirroredAsync();
            passes = watch.Passes;
            await Wait.UntilAsync(() => watch.Passes > passes + 2, TimeSpan.FromSeconds(60), "a scan of the converged target");
            Assert.Empty(watch.Violations);
            var verify = await pair.Source.CliAsync("verify", "job1", "--checksum");
            Assert.True(verify.ExitCode == 0, verify.Stdout + verify.Stderr);
            Assert.Empty(PartialFileWatch.TempFiles(targetPath));
        }
        finally
        {
            // Lazy: the target agent may still hold files open there; the mount must go either way.
            await Tmpfs.RunAsync("umount", "-l", mount);
        }
    }
}
