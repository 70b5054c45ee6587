using System.Globalization;
using Understudy.Agent.Tests.Replication.Faults.Support;
using Xunit;
using Xunit.Abstractions;

namespace Understudy.Agent.Tests.Replication.Faults;

[Collection(nameof(ReplicationFaultsCollection))]
public sealed class TreeMoveTests(ITestOutputHelper output)
{
    /// <summary>
    /// A directory tree moved into the job must arrive whole and be watched at once (a file written in its
    /// deepest directory right after the move arrives); moved out, it disappears from the target and later
    /// changes to it outside are not replicated; moved back in under another name, it arrives as it is now.
    /// </summary>
    [Fact]
    public async Task TreeMovedIntoAndOutOfJob_Converges()
    {
        await using var rig = await ReplicationRig.StartAsync(output);
        var churn = rig.NewChurn(seed: 3005);
        churn.Run(60);
        await rig.ApplyJobAsync();
        await rig.WaitMirroredAsync();

        var outsideTree = Path.Combine(rig.Outside, "tree");
        var deepest = BuildTree(outsideTree, new Random(3005));
        var inJob = Path.Combine(rig.SourceData, "moved in");
        ChurnLibc.Rename(outsideTree, inJob);
        // At once, before any rescan could have run: the watcher must already cover the moved-in tree.
        var late = Path.Combine(inJob, deepest, "written after the move");
        await File.WriteAllTextAsync(late, "late");
        Directory.CreateDirectory(Path.Combine(inJob, deepest, "new dir", "newer"));
        await File.WriteAllTextAsync(Path.Combine(inJob, deepest, "new dir", "newer", "file"), "newest");
        await rig.AssertConvergedAsync();
        Assert.Equal("late", await File.ReadAllTextAsync(Path.Combine(rig.TargetData, "moved in", deepest, "written after the move")));

        // Changes after the move, on the moved tree, mixed with other churn.
        await File.AppendAllTextAsync(Path.Combine(inJob, "d0", "f0"), "appended");
        churn.Keep.Add("moved in"); // moved out by name below; what is inside may change
        await churn.RunAsync(40);
        await rig.AssertConvergedAsync();

        // Out of the job: gone from the target; changes made out there are none of the job's business.
        var movedOut = Path.Combine(rig.Outside, "moved out");
        ChurnLibc.Rename(inJob, movedOut);
        await rig.AssertConvergedAsync();
        Assert.False(Directory.Exists(Path.Combine(rig.TargetData, "moved in")), "the moved-out tree is still on the target");
        // The churn above may have renamed or removed directories of the moved tree: work on what is there now.
        var deep = DeepestDirectory(movedOut);
        var removed = Directory.GetDirectories(movedOut).Select(Path.GetFileName).Order(StringComparer.Ordinal)
            .First(d => !deep.StartsWith(d + "/", StringComparison.Ordinal) && deep != d)!;
        await File.WriteAllTextAsync(Path.Combine(movedOut, deep, "written outside"), "outside");
        Directory.Delete(Path.Combine(movedOut, removed), recursive: true);

        // Back in, under another name and deeper: it must arrive as it is now.
        Directory.CreateDirectory(Path.Combine(rig.SourceData, "home"));
        var back = Path.Combine(rig.SourceData, "home", "back again");
        ChurnLibc.Rename(movedOut, back);
        await File.WriteAllTextAsync(Path.Combine(back, deep, "written after the return"), "again");
        await rig.AssertConvergedAsync();
        var t = Path.Combine(rig.TargetData, "home", "back again");
        Assert.Equal("outside", await File.ReadAllTextAsync(Path.Combine(t, deep, "written outside")));
        Assert.False(Directory.Exists(Path.Combine(t, removed)));
        Assert.False(Directory.Exists(Path.Combine(rig.TargetData, "moved in")));

        // And within the job, a whole tree moves between directories.
        Directory.CreateDirectory(Path.Combine(rig.SourceData, "elsewhere"));
        ChurnLibc.Rename(back, Path.Combine(rig.SourceData, "elsewhere", "tree"));
        await rig.AssertConvergedAsync();
        Assert.False(Directory.Exists(t));
        await rig.AssertNoErrorEventsAsync();
    }

    /// <summary>The deepest directory below <paramref name="root"/> (relative; the first in ordinal order among equals).</summary>
    private static string DeepestDirectory(string root) =>
        Directory.EnumerateDirectories(root, "*", SearchOption.AllDirectories).Select(d => Path.GetRelativePath(root, d))
            .OrderByDescending(d => d.Count(c => c == '/')).ThenBy(d => d, StringComparer.Ordinal).First();

    /// <summary>Four directories of three levels each with files; returns the deepest directory, relative.</summary>
    private static string BuildTree(string root, Random rng)
    {
        string deepest = "";
        for (int d = 0; d < 4; d++)
        {
            var rel = Path.Combine($"d{d.ToString(CultureInfo.InvariantCulture)}", "x", "y");
            Directory.CreateDirectory(Path.Combine(root, rel));
            for (int f = 0; f < 5; f++)
            {
                var bytes = new byte[rng.Next(0, 20000)];
                rng.NextBytes(bytes);
                File.WriteAllBytes(Path.Combine(root, $"d{d.ToString(CultureInfo.InvariantCulture)}", $"f{f.ToString(CultureInfo.InvariantCulture)}"), bytes);
                File.WriteAllBytes(Path.Combine(root, rel, $"leaf{f.ToString(CultureInfo.InvariantCulture)}"), bytes);
            }
            deepest = rel;
        }
        return deepest;
    }
}
