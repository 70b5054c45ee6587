using System.Text;
using Understudy.Agent.Replication.Capture;
using Xunit;

namespace Understudy.Agent.Tests.Capture;

public sealed class FanotifyMergeCheckTests
{
    private static readonly byte[] Dir = [1, 2, 3, 4];
    private static readonly byte[] ObjA = [9, 9, 1];

    private static byte[] N(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void RenameBackAndForth_NameCameBack_IsAtRisk_AndADifferenceOnDiskIsFound()
    {
        var c = new FanotifyMergeCheck();
        c.Renamed(Dir, N("a"), Dir, N("b"), ObjA);
        Assert.False(c.AtRisk);
        c.Renamed(Dir, N("b"), Dir, N("a"), ObjA); // a third "a -> b" may have been merged into the first
        Assert.True(c.AtRisk);
        // The events say a holds the file and b is free; on disk it is the other way round.
        var disk = new Dictionary<string, byte[]> { ["b"] = ObjA };
        Assert.NotNull(c.FindDifference((_, name) => disk.GetValueOrDefault(Encoding.UTF8.GetString(name))));
        disk = new Dictionary<string, byte[]> { ["a"] = ObjA };
        Assert.Null(c.FindDifference((_, name) => disk.GetValueOrDefault(Encoding.UTF8.GetString(name))));
    }

    [Fact]
    public void SwappedThroughATemporaryName_AnotherFileUnderTheName_IsADifference()
    {
        byte[] objB = [7, 7];
        var c = new FanotifyMergeCheck();
        c.Renamed(Dir, N("a"), Dir, N("t"), ObjA);
        c.Renamed(Dir, N("b"), Dir, N("a"), objB);
        c.Renamed(Dir, N("t"), Dir, N("b"), ObjA);
        Assert.True(c.AtRisk);
        // Swapped twice on disk, once in the events (the second swap merged away): same names, other files.
        var disk = new Dictionary<string, byte[]> { ["a"] = ObjA, ["b"] = objB };
        Assert.NotNull(c.FindDifference((_, name) => disk.GetValueOrDefault(Encoding.UTF8.GetString(name))));
    }

    [Fact]
    public void NewFileUnderARenamedName_IsAtRisk_DeletionIsTracked()
    {
        byte[] objNew = [5];
        var c = new FanotifyMergeCheck();
        c.Appeared(Dir, N("x"), objNew); // nothing tracked yet: ignored
        Assert.False(c.HasState);
        c.Renamed(Dir, N("tmp"), Dir, N("file"), ObjA);
        c.Appeared(Dir, N("tmp"), objNew);
        Assert.True(c.AtRisk);
        c.Vanished(Dir, N("tmp"));
        var disk = new Dictionary<string, byte[]> { ["file"] = ObjA };
        Assert.Null(c.FindDifference((_, name) => disk.GetValueOrDefault(Encoding.UTF8.GetString(name))));
        c.Clear();
        Assert.False(c.HasState);
        Assert.False(c.AtRisk);
    }
}
