using Understudy.Testing;
using Understudy.Core.Paths;
using Understudy.Core.Posix;
using Xunit;

namespace Understudy.Agent.Tests.Replication;

/// <summary>Holes survive replication as they survive a mirror: whole sends and block deltas alike.</summary>
public sealed class ReplicationSparseTests
{
    /// <summary>What the source allocates, plus slack for a file system's block rounding (not a whole copy).</summary>
    private const long Slack = 256 * 1024;

    private static StatInfo Stat(string root, string path)
    {
        using var t = FsTree.Open(root, create: false);
        return t.Lstat(RelPath.Parse(path))!.Value;
    }

    private static void AssertSameHoles(AgentPair pair, string path)
    {
        var s = Stat(pair.SourceData, path);
        var t = Stat(pair.TargetData, path);
        Assert.Equal(s.Size, t.Size);
        Assert.True(t.AllocatedBytes <= s.AllocatedBytes + Slack,
            $"{path}: {s.AllocatedBytes} bytes allocated on the source, {t.AllocatedBytes} on the target (size {s.Size})");
    }

    [Fact]
    public async Task FileGrownByTruncate_KeepsItsHoleOnTheTarget()
    {
        await using var pair = await ReplicationTests.StartMirroredAsync();
        string s = Path.Combine(pair.SourceData, "grown.img");
        await File.WriteAllBytesAsync(s, new byte[4096].Select((_, i) => (byte)(i % 251 + 1)).ToArray());
        await ReplicationTests.WaitIdleAsync(pair);

        using (var f = new FileStream(s, FileMode.Open))
            f.SetLength(64L << 20); // truncate -s 64M: a 64 MiB file with 4 KiB of data
        await ReplicationTests.WaitIdleAsync(pair);

        AssertSameHoles(pair, "grown.img");
        await ReplicationTests.AssertVerifiedAsync(pair);
    }

    [Fact]
    public async Task SparseFileChangedInPlace_DeltaKeepsItsHoles()
    {
        await using var pair = await ReplicationTests.StartMirroredAsync();
        string s = Path.Combine(pair.SourceData, "vm.img");
        var data = new byte[1 << 20];
        new Random(7).NextBytes(data);
        using (var f = new FileStream(s, FileMode.CreateNew))
        {
            f.SetLength(32L << 20);
            f.Position = 0;
            f.Write(data);
            f.Position = 20L << 20; // data in the middle, holes around it
            f.Write(data);
        }
        await ReplicationTests.WaitIdleAsync(pair);
        AssertSameHoles(pair, "vm.img"); // a new file goes whole, by its data extents

        using (var f = new FileStream(s, FileMode.Open))
        {
            f.Position = 100;
            f.Write("changed"u8); // a block delta against the target's copy
        }
        await ReplicationTests.WaitIdleAsync(pair);

        AssertSameHoles(pair, "vm.img");
        await ReplicationTests.AssertVerifiedAsync(pair);
    }
}
