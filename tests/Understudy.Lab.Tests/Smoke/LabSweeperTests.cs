using System.Diagnostics;
using System.Globalization;
using Understudy.Testing.Lab;
using Xunit;

namespace Understudy.LabTests.Smoke;

[Collection(LabCollection.Name)]
public sealed class LabSweeperTests
{
    [LabFact]
    public async Task Sweeper_RemovesTheLabOfADeadRun_AndKillsWhatRanInIt()
    {
        // A "previous run" that was killed -9: its PID is dead, its namespaces, guard route,
        // temp dir and a daemon inside one of its namespaces are still there.
        int deadPid;
        using (var p = Process.Start("true")!)
        {
            await p.WaitForExitAsync();
            deadPid = p.Id;
        }
        var id = new LabId(251, Random.Shared.Next(0, 256)); // outside the range live labs pick from
        var metric = deadPid.ToString(CultureInfo.InvariantCulture);
        await Shell.RunOkAsync(["ip", "route", "add", "unreachable", id.Subnet, "metric", metric]);
        await Shell.RunOkAsync(["ip", "netns", "add", id.Namespace("br")]);
        await Shell.RunOkAsync(["ip", "netns", "add", id.Namespace("src")]);
        Directory.CreateDirectory(id.TempDir(deadPid));
        using var orphan = Process.Start("ip", ["netns", "exec", id.Namespace("src"), "sleep", "600"]);
        await Understudy.Testing.Wait.UntilAsync(
            () => Shell.Run(["ip", "netns", "pids", id.Namespace("src")]).Stdout.Trim().Length > 0, TimeSpan.FromSeconds(10), "orphan in namespace");

        await using var lab = await Lab.CreateAsync(); // sweeps first

        Assert.DoesNotContain(LabSweeper.Namespaces(), n => n.Id == id);
        Assert.DoesNotContain(LabSweeper.GuardRoutes(), r => r.Id == id);
        Assert.False(Directory.Exists(id.TempDir(deadPid)));
        Assert.True(orphan.WaitForExit(10_000), "the process left in the dead lab was not killed");
        Assert.Contains(LabSweeper.Namespaces(), n => n.Id == lab.Id); // its own lab is untouched
    }
}
